"""Print one "tests: N passed, N failed, N skipped" line summed over JUnit XML reports."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(paths: list[str]) -> int:
    total = failed = skipped = 0
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as error:
            print(f"junit_totals: cannot read {path}: {error}", file=sys.stderr)
            return 1
        for suite in root.iter("testsuite"):
            total += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
    print(f"tests: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 0 if total > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
