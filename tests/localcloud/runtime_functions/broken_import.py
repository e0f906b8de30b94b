"""A handler module whose import fails, as with a dependency missing from the package."""

import module_that_is_not_installed  # type: ignore[import-not-found]  # noqa: F401


def handler(event: object, context: object) -> None:
    return None
