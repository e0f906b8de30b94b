"""A module of the provisioning test app's layer."""


def shout(text: str) -> str:
    return text.upper()
