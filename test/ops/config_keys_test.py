#!/usr/bin/env python3
"""Every config key the loader reads appears in docs/configuration.md.

usage: config_keys_test.py SOURCE_DIR

Keys are the string literals passed to the readers' accessors (String, Get,
Bool, Duration, Int, Int32Field, Double, StringList, StringMap, Bytes, Has,
Present, ReadArgv, Unsupported is excluded: those keys are rejected) in
src/app/config.cpp, src/app/scale_config.cpp and src/rules/load.cpp. A key is
documented when it appears in backquotes in the doc, alone or as the last
part of a dotted path (`behavior.scaleUp`).
"""
import os
import re
import sys

SOURCES = ("src/app/config.cpp", "src/app/scale_config.cpp", "src/rules/load.cpp")
CALL = re.compile(r'\b(?:String|Get|Bool|Duration|Int|Double|StringList|StringMap|Bytes|Has|'
                  r'Present|Int32Field|ReadArgv)\(\s*(?:\w+,\s*)?"([A-Za-z_][A-Za-z0-9_]*)"')


def main():
    root = sys.argv[1]
    keys = {}
    for rel in SOURCES:
        with open(os.path.join(root, rel)) as f:
            for lineno, line in enumerate(f, 1):
                for k in CALL.findall(line):
                    keys.setdefault(k, "%s:%d" % (rel, lineno))
    with open(os.path.join(root, "docs", "configuration.md")) as f:
        doc = f.read()
    documented = set()
    for code in re.findall(r"`([^`\n]+)`", doc):
        for part in re.split(r"[.\s:{},\[\]]+", code):
            documented.add(part)
    missing = sorted(k for k in keys if k not in documented)
    for k in missing:
        print("undocumented config key %r (read at %s)" % (k, keys[k]))
    print("%d config keys read by the loader, %d missing from docs/configuration.md" %
          (len(keys), len(missing)))
    return 1 if missing or len(keys) < 50 else 0


if __name__ == "__main__":
    sys.exit(main())
