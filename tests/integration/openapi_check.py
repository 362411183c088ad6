"""Checks recorded replies of the real server against its OpenAPI description, with the
jsonschema reference implementation (PyPI, in the tests' venv: .cache/venv/bin/python).

    openapi_check.py OPENAPI_JSON RECORDS_JSON

RECORDS_JSON is a list of {"method", "path", "status", "content_type", "body"}. For each: the
path matches one of the document's paths (templates: {name} is one segment), the method is
described there, the status is among its responses, the content type is one the response
names, and a JSON body validates against the response's schema (JSON Schema 2020-12, $refs
into the document). Then every operation of the document must have been seen at least once.
Prints each problem; exit code 1 when there is any.
"""

from __future__ import annotations

import json
import re
import sys

from jsonschema import Draft202012Validator


def template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def check_body(doc: dict, where: str, schema: dict, rec: dict, problems: list[str]) -> None:
    """A JSON body against `schema`, whose "#/components/..." refs point into `doc`."""
    schema = dict(schema)
    schema["components"] = doc["components"]
    try:
        body = json.loads(rec["body"])
    except ValueError as e:
        problems.append(f"{where}: not JSON: {e}")
        return
    for error in Draft202012Validator(schema).iter_errors(body):
        path = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{where}: body at /{path}: {error.message[:300]}")


def main() -> int:
    doc = json.load(open(sys.argv[1], encoding="utf-8"))
    records = json.load(open(sys.argv[2], encoding="utf-8"))
    Draft202012Validator.check_schema({"$defs": doc["components"]["schemas"]})
    # Literal paths win over templates ("/api/livestream/rooms" over "/{input_uid}/webRTC/play").
    paths = sorted(doc["paths"].items(), key=lambda kv: kv[0].count("{"))
    matchers = [(template, template_regex(template), item) for template, item in paths]
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for rec in records:
        where = f'{rec["method"]} {rec["path"]} -> {rec["status"]}'
        found = next(((t, item) for t, rx, item in matchers if rx.match(rec["path"])), None)
        if found is None:
            # Undescribed paths answer 404 not_found (the document says so in its info).
            if rec["status"] == 404:
                check_body(doc, where, {"$ref": "#/components/schemas/Error"}, rec, problems)
            else:
                problems.append(f"{where}: the path is not described")
            continue
        template, item = found
        head = rec["method"] == "HEAD"  # answered wherever GET is, without the body
        op = item.get("get" if head else rec["method"].lower())
        if op is None:
            # 405 for a method the path does not have is described by every operation's 405.
            if rec["status"] == 405:
                continue
            problems.append(f"{where}: {rec['method']} is not described for {template}")
            continue
        seen.add((template, "get" if head else rec["method"].lower()))
        response = op["responses"].get(str(rec["status"])) or op["responses"].get("default")
        if response is None:
            problems.append(f"{where}: status {rec['status']} is not among {template}'s {sorted(op['responses'])}")
            continue
        if "$ref" in response:
            response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        content = response.get("content")
        ctype = (rec.get("content_type") or "").split(";")[0].strip().lower()
        if head:
            continue
        if not content:
            if rec.get("body"):
                problems.append(f"{where}: a body ({ctype}) where the description has none")
            continue
        if ctype not in content:
            problems.append(f"{where}: content type {ctype!r}, described: {sorted(content)}")
            continue
        if ctype == "application/json":
            check_body(doc, where, content[ctype].get("schema", {}), rec, problems)
    for template, item in doc["paths"].items():
        for method in item:
            if method in ("get", "post", "patch", "delete", "put", "options", "head") and (template, method) not in seen:
                problems.append(f"{method.upper()} {template}: described but never exercised")
    for p in problems:
        print(p)
    print(f"{len(records)} replies checked, {len(seen)} operations seen, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
