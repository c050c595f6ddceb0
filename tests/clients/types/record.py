#!/usr/bin/env python3
"""Records expected.json from a running PostgreSQL 15: the `pg` SQL of every case of
cases.json, fetched as check.py fetches it (same session settings, same table `typed` from
typed.json, same output). Usually run by record.sh, which starts and stops a throwaway
server; by hand:
    python3 record.py --host /tmp/pgq --port 25498 --user postgres --dbname postgres
Fails (exit 1, saying why) when a case errors on PostgreSQL, when the server is not 15, or
when a json column does not hold the compact JSON text Eddy is to send for ROW and MAP."""
import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the recorded files
import check  # noqa: E402 (exits non-zero when psycopg is missing)

HERE = os.path.dirname(os.path.abspath(__file__))


def compact(text):
    """The JSON text Eddy sends for a ROW or MAP value: no spaces, keys in their order."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", default="postgres")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--out", default=os.path.join(HERE, "expected.json"))
    args = p.parse_args()
    args.target = "pg"
    args.no_setup = False

    with check.connect(args) as conn:
        version = conn.info.server_version
    if version // 10000 != 15:
        sys.exit(f"record.py: expected PostgreSQL 15, the server is {version}")

    results = check.run(args, check.load_cases())
    problems = [f"{r['name']}: {r['error']}" for r in results if "error" in r]
    for r in results:
        if "error" in r:
            continue
        problems += [f"{r['name']}: {k} present" for k in ("binary_columns", "formats") if k in r]
        for c, col in enumerate(r["columns"]):
            if col["type_oid"] != 114:  # json
                continue
            for row in r["text"]:
                v = row[c]
                if v is not None and compact(v) != v:
                    problems.append(f"{r['name']}.{col['name']}: {v!r} is not compact JSON "
                                    f"({compact(v)!r}); fix typed.json")
    if problems:
        sys.exit("record.py: not recorded:\n  " + "\n  ".join(problems))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(check.dumps(results))
    print(f"record.py: {len(results)} cases from PostgreSQL {version} written to {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
