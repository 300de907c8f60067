#!/usr/bin/env python3
"""Writes Sources/Edge/Generated/ProtoSchemas.swift: a JSON Schema for every message and enum of
the public API's .proto files (auth, campaign, stats, orders), as the proto3 JSON mapping puts
them on the wire: lowerCamelCase names, 64-bit integers as decimal strings, enums by name, bytes as
base64, maps as objects. The edge's OpenAPI document (/openapi.json) refers to these schemas.

Also writes Sources/Edge/Generated/ProtoJSONNames.swift: the JSON name of every field of those
messages by field number, for the edge's JSON writer (ProtoJSONWriter).

Usage: scripts/generate-openapi-schemas.py [--check]   (--check fails when the file is stale)

Understands the subset of proto3 the project uses: packages, messages (nested too), enums,
`repeated`, `optional`, `map<K, V>` fields and comments. Anything else is an error, so that a new
construct in Protos/ is noticed here rather than documented wrongly.
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PUBLIC = ["auth", "campaign", "stats", "orders"]
OUTPUT = ROOT / "Sources/Edge/Generated/ProtoSchemas.swift"
NAMES_OUTPUT = ROOT / "Sources/Edge/Generated/ProtoJSONNames.swift"

SCALARS = {
    "string": {"type": "string"},
    "bytes": {"type": "string", "format": "byte"},
    "bool": {"type": "boolean"},
    "double": {"type": "number"},
    "float": {"type": "number"},
    "int32": {"type": "integer", "format": "int32"},
    "sint32": {"type": "integer", "format": "int32"},
    "uint32": {"type": "integer", "format": "int32", "minimum": 0},
    # 64-bit integers are JSON strings in the proto3 mapping.
    "int64": {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    "sint64": {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"},
    "uint64": {"type": "string", "format": "int64", "pattern": "^[0-9]+$"},
}


def camel(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def tokens(text):
    return re.findall(r"[A-Za-z_][A-Za-z0-9_.]*|\d+|\"[^\"]*\"|[{}<>;=,()\[\]]", text)


class Parser:
    def __init__(self, text, path):
        self.toks = tokens(strip_comments(text))
        self.i = 0
        self.path = path
        self.package = ""
        self.messages = {}  # full name -> list of (json name, type, label, key type)
        self.enums = {}  # full name -> [value names]
        self.enum_numbers = {}  # full name -> [(number, value name)]
        self.enum_swift = {}  # full name -> the Swift type swift-protobuf generates for it

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected=None):
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise SystemExit(f"{self.path}: expected {expected!r}, found {tok!r}")
        self.i += 1
        return tok

    def skip_statement(self):
        while self.take() != ";":
            pass

    def parse(self):
        while self.peek() is not None:
            tok = self.take()
            if tok == "package":
                self.package = self.take()
                self.take(";")
            elif tok in ("syntax", "import", "option"):
                self.skip_statement()
            elif tok == "message":
                self.message(self.package)
            elif tok == "enum":
                self.enum(self.package)
            elif tok == "service":
                self.take()
                self.block()
            else:
                raise SystemExit(f"{self.path}: unexpected {tok!r}")

    def block(self):
        self.take("{")
        depth = 1
        while depth:
            tok = self.take()
            depth += tok == "{"
            depth -= tok == "}"

    def enum(self, scope):
        name = f"{scope}.{self.take()}"
        self.take("{")
        values, numbers = [], []
        while self.peek() != "}":
            if self.peek() == "option":
                self.skip_statement()
                continue
            values.append(self.take())
            self.take("=")
            numbers.append((int(self.take()), values[-1]))
            self.skip_statement() if self.peek() != ";" else self.take(";")
        self.take("}")
        self.enums[name] = values
        self.enum_numbers[name] = numbers
        # pixecom.campaign.v1.Status -> Pixecom_Campaign_V1_Status; nested types follow with ".".
        prefix = "_".join(part[:1].upper() + part[1:] for part in self.package.split("."))
        self.enum_swift[name] = prefix + "_" + name[len(self.package) + 1:]

    def message(self, scope):
        name = f"{scope}.{self.take()}"
        self.take("{")
        fields = []
        while self.peek() != "}":
            tok = self.peek()
            if tok == "message":
                self.take()
                self.message(name)
            elif tok == "enum":
                self.take()
                self.enum(name)
            elif tok in ("reserved", "option"):
                self.skip_statement()
            elif tok == "oneof":
                raise SystemExit(f"{self.path}: oneof in {name} is not supported by this generator")
            else:
                label = None
                key = None
                if tok in ("repeated", "optional"):
                    label = self.take()
                if self.peek() == "map":
                    self.take("map")
                    self.take("<")
                    key = self.take()
                    self.take(",")
                    typ = self.take()
                    self.take(">")
                    label = "map"
                else:
                    typ = self.take()
                field = self.take()
                self.take("=")
                number = int(self.take())
                if self.peek() == "[":
                    while self.take() != "]":
                        pass
                self.take(";")
                fields.append((camel(field), typ, label, key, name, number))
        self.take("}")
        self.messages[name] = fields


def resolve(typ, scope, known):
    """The full name of type `typ` used inside message `scope` (proto scoping rules)."""
    if typ in SCALARS:
        return typ
    if typ.startswith("."):
        return typ[1:]
    parts = scope.split(".")
    while parts:
        candidate = ".".join(parts + [typ])
        if candidate in known:
            return candidate
        parts.pop()
    if typ in known:
        return typ
    raise SystemExit(f"unknown type {typ} in {scope}")


def schema_for(typ, scope, known):
    full = resolve(typ, scope, known)
    if full in SCALARS:
        return dict(SCALARS[full])
    return {"$ref": f"#/components/schemas/{full}"}


def main():
    messages, enums, enum_numbers, enum_swift = {}, {}, {}, {}
    for package in PUBLIC:
        for path in sorted((ROOT / "Protos/pixecom" / package).glob("**/*.proto")):
            parser = Parser(path.read_text(), path)
            parser.parse()
            messages.update(parser.messages)
            enums.update(parser.enums)
            enum_numbers.update(parser.enum_numbers)
            enum_swift.update(parser.enum_swift)
    known = set(messages) | set(enums)
    schemas = {}
    for name, values in sorted(enums.items()):
        schemas[name] = {"type": "string", "enum": values}
    for name, fields in sorted(messages.items()):
        properties = {}
        for json_name, typ, label, key, scope, _ in fields:
            if label == "map":
                if key != "string":
                    raise SystemExit(f"map key {key} in {name} is not supported")
                prop = {"type": "object", "additionalProperties": schema_for(typ, scope, known)}
            elif label == "repeated":
                prop = {"type": "array", "items": schema_for(typ, scope, known)}
            else:
                prop = schema_for(typ, scope, known)
            properties[json_name] = prop
        # Fields at their default value are left out of answers, so none is required; unknown
        # fields are refused in requests and never sent in answers.
        schemas[name] = {"type": "object", "properties": properties, "additionalProperties": False}
    text = json.dumps(schemas, indent=1, sort_keys=True)
    swift = (
        "// Generated by scripts/generate-openapi-schemas.py from Protos/. Do not edit.\n\n"
        "/// JSON Schemas of the public API's messages in the proto3 JSON mapping, keyed by full\n"
        "/// name (e.g. `pixecom.auth.v1.TokenPair`), for the edge's OpenAPI document.\n"
        "enum ProtoSchemas {\n"
        "    static let json = #\"\"\"\n" + text + "\n\"\"\"#\n}\n"
    )
    entries = []
    for name, fields in sorted(messages.items()):
        pairs = ", ".join(f'{number}: "{json_name}"' for json_name, _, _, _, _, number in sorted(fields, key=lambda f: f[5]))
        entries.append(f'        "{name}": [{pairs}],' if pairs else f'        "{name}": [:],')
    enum_entries = []
    for name in sorted(enum_numbers):
        pairs = ", ".join(f'{number}: "{value}"' for number, value in enum_numbers[name])
        enum_entries.append(f"        ObjectIdentifier({enum_swift[name]}.self): [{pairs}],")
    names = (
        "// Generated by scripts/generate-openapi-schemas.py from Protos/. Do not edit.\n\n"
        "import PixEcomProtos\n\n"
        "/// The proto3 JSON name of every field of the public API's messages, by field number, keyed\n"
        "/// by the message's full name (e.g. `pixecom.auth.v1.TokenPair`), for `ProtoJSONWriter`.\n"
        "enum ProtoJSONNames {\n"
        "    static let fields: [String: [Int: String]] = [\n" + "\n".join(entries) + "\n    ]\n\n"
        "    /// The names of every enum's values, by number, keyed by the enum's Swift type.\n"
        "    static let enums: [ObjectIdentifier: [Int: String]] = [\n" + "\n".join(enum_entries) + "\n    ]\n}\n"
    )
    outputs = [(OUTPUT, swift), (NAMES_OUTPUT, names)]
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        stale = [path for path, text in outputs if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run scripts/generate-openapi-schemas.py)")
        if stale:
            sys.exit(1)
        print("OpenAPI schemas and JSON names are current")
        return
    for path, text in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {len(schemas)} schemas, and {NAMES_OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
