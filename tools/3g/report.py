#!/usr/bin/env python3
"""The figures of scripts/3g: one row per cell from the client's JSON lines, the markdown table, and the acceptance
check.

  report.py row --jsonl CELL.jsonl --cell NAME --profile P --loss L --path X --screen S --kind K \
                --delay-ms D --rate-kbit R           prints the cell's row (one JSON line)
  report.py table ROWS.jsonl                          prints the markdown table
  report.py check ROWS.jsonl                          prints each acceptance ratio; exits 1 when one fails
  report.py brief ROWS.jsonl                          one line on the last row (scripts/3g's progress)

Floor = RTT + 8·B/rate, RTT = 2 × the per-direction delay, B = the screen's body bytes as sent (compressed), the mean
over the cell's loads. The physical floor puts the bytes that reached the phone's device in B instead (IP packets as
counted by the TUN device, plus 3g-link.py's 14 bytes of per-packet overhead): headers, TCP/IP and TLS included.
"""
import argparse
import json
import sys

OVERHEAD = 14  # 3g-link.py --overhead: bytes added per packet for the rate

# The acceptance ratios (issue 23): warm loads through the gateway.
P50_AT_NO_LOSS = 1.15  # p50 ≤ 1.15 × floor at 0 % loss, every profile and screen
P95_AT_LOSS = 1.5  # p95 ≤ 1.5 × floor on regular-3g at 1 % loss, for the one-request screen


def floor_ms(delay_ms, rate_kbit, body_bytes):
    return 2 * delay_ms + 8.0 * body_bytes / rate_kbit  # kbit/s is bits per millisecond


def row(args):
    loads, summary = [], None
    with open(args.jsonl) as f:
        for line in f:
            record = json.loads(line)
            if record.get("summary"):
                summary = record
            elif not record.get("warmup"):
                loads.append(record)
    result = {"cell": args.cell, "profile": args.profile, "loss": args.loss, "path": args.path,
              "screen": args.screen, "kind": args.kind, "delay_ms": args.delay_ms, "rate_kbit": args.rate_kbit,
              "requested": len(loads), "n": 0, "failed": len(loads)}
    if summary is None or not summary.get("n"):
        return result
    floor = floor_ms(args.delay_ms, args.rate_kbit, summary["bytes_mean"])
    result.update({
        "n": summary["n"], "failed": summary["failed"], "bytes": summary["bytes_mean"],
        "decoded": summary["decoded_mean"], "not_modified": summary["not_modified"],
        "p50": summary["p50"], "p95": summary["p95"], "mean": summary["mean"], "max": summary["max"],
        "floor": round(floor, 1), "p50_x": round(summary["p50"] / floor, 3), "p95_x": round(summary["p95"] / floor, 3),
    })
    wire = summary.get("wire_mean")
    if wire:
        wire_bytes = wire["rx_bytes"] + OVERHEAD * wire["rx_packets"]
        physical = floor_ms(args.delay_ms, args.rate_kbit, wire_bytes)
        result.update({"wire_bytes": round(wire_bytes), "wire_packets": wire["rx_packets"],
                       "up_bytes": round(wire["tx_bytes"] + OVERHEAD * wire["tx_packets"]),
                       "physical_floor": round(physical, 1), "p50_xp": round(summary["p50"] / physical, 3)})
    if "session_reused" in summary:
        result["resumed"] = f'{summary["session_reused"]}/{summary["session_reused"] + summary["session_new"]}'
    return result


def read_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cell(value, digits=0):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(rows):
    out = ["| profile | loss | path | screen | kind | n | B (bytes) | floor ms | p50 ms | p95 ms | p50/floor | "
           "p95/floor | wire B ↓ | phys. floor ms | p50/phys | 304s | failed |",
           "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        kind = r["kind"] + (f' ({r["resumed"]} resumed)' if r.get("resumed") else "")
        out.append("| " + " | ".join([
            r["profile"], f'{r["loss"]}%', r["path"], r["screen"], kind, cell(r["n"]), cell(r.get("bytes")),
            cell(r.get("floor")), cell(r.get("p50")), cell(r.get("p95")), cell(r.get("p50_x"), 2),
            cell(r.get("p95_x"), 2), cell(r.get("wire_bytes")), cell(r.get("physical_floor")),
            cell(r.get("p50_xp"), 2), cell(r.get("not_modified")), cell(r["failed"]),
        ]) + " |")
    return "\n".join(out)


def brief(r):
    if not r["n"]:
        return f'  {r["cell"]}: no load answered'
    text = (f'  n {r["n"]}  B {r["bytes"]:.0f}  floor {r["floor"]:.0f} ms  p50 {r["p50"]:.0f} ms ({r["p50_x"]:.2f}×)'
            f'  p95 {r["p95"]:.0f} ms ({r["p95_x"]:.2f}×)')
    if "physical_floor" in r:
        text += f'  physical floor {r["physical_floor"]:.0f} ms ({r["p50_xp"]:.2f}×)'
    return text + f'  304s {r["not_modified"]}  failed {r["failed"]}'


def checks(rows):
    """(cell, what, ok) for every acceptance ratio the rows can answer."""
    results = []
    for r in rows:
        if r["kind"] != "warm" or not r["path"].startswith("gateway"):
            continue
        if r["n"] == 0 or r["failed"]:
            results.append((r["cell"], f'{r["failed"]} of {r["requested"]} loads failed', False))
            continue
        if str(r["loss"]) == "0":
            results.append((r["cell"], f'p50 {r["p50"]:.0f} ms = {r["p50_x"]:.2f} × floor {r["floor"]:.0f} ms '
                                       f'(≤ {P50_AT_NO_LOSS})', r["p50_x"] <= P50_AT_NO_LOSS))
        elif r["profile"] == "regular-3g" and r["screen"] == "wedding-day":
            results.append((r["cell"], f'p95 {r["p95"]:.0f} ms = {r["p95_x"]:.2f} × floor {r["floor"]:.0f} ms '
                                       f'(≤ {P95_AT_LOSS})', r["p95_x"] <= P95_AT_LOSS))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("row")
    for name in ("jsonl", "cell", "profile", "loss", "path", "screen", "kind"):
        r.add_argument("--" + name, required=True)
    r.add_argument("--delay-ms", type=float, required=True)
    r.add_argument("--rate-kbit", type=float, required=True)
    sub.add_parser("table").add_argument("rows")
    sub.add_parser("check").add_argument("rows")
    sub.add_parser("brief").add_argument("rows")
    args = ap.parse_args()
    if args.command == "row":
        print(json.dumps(row(args)))
    elif args.command == "table":
        print(table(read_rows(args.rows)))
    elif args.command == "brief":
        print(brief(read_rows(args.rows)[-1]))
    else:
        results = checks(read_rows(args.rows))
        for name, what, ok in results:
            print(f'{"ok  " if ok else "FAIL"} {name}: {what}')
        if not results:
            print("no cell answers an acceptance ratio (warm loads through the gateway)")
        return 0 if results and all(ok for _, _, ok in results) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
