"""Translate a SAM template to CloudFormation JSON on stdout; runs in the SAM CLI's venv (.venv-sam).

Usage: python sam_translate.py TEMPLATE S3_URI

Every function's CodeUri and every layer's ContentUri are pointed at S3_URI first: the translator
accepts only S3 code locations, as `sam package` would leave them. Managed policies are not looked
up (the loader returns none), so no AWS account or credentials are needed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from samcli.yamlhelper import parse_yaml_file  # type: ignore[import-not-found]
from samtranslator.translator.transform import transform  # type: ignore[import-not-found]

_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class NoManagedPolicies:
    """A managed policy loader that knows no policy names, so nothing calls IAM."""

    def load(self) -> dict[str, str]:
        return {}


def point_code_at(template: dict[str, Any], s3_uri: str) -> None:
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = s3_uri
    for resource in template.get("Resources", {}).values():
        code_property = _CODE_PROPERTIES.get(resource.get("Type"))
        if code_property is not None and code_property in resource.get("Properties", {}):
            resource["Properties"][code_property] = s3_uri


def main(arguments: list[str]) -> int:
    if len(arguments) != 2:
        print("usage: sam_translate.py TEMPLATE S3_URI", file=sys.stderr)
        return 2
    template_path, s3_uri = arguments
    template = parse_yaml_file(template_path)
    point_code_at(template, s3_uri)
    translated = transform(template, {}, NoManagedPolicies())
    json.dump(translated, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
