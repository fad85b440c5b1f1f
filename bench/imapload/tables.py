#!/usr/bin/python3
"""tables.py RESULTS.jsonl: Markdown tables from imapload's JSON lines (bench/imap_side_by_side.sh).

Mixed profile: per (label, clients) the runs' commands/s and the median run's p99 and server CPU per
command; the ratio of Mailfort's median to Dovecot's. Then p50/p99 per command kind at each client count
(median run), logins/s, and the IDLE hold. Lines labelled warmup* are ignored.
"""
import json
import statistics
import sys

MF, DC = "mailfort", "dovecot-tuned"


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["cmds_per_s"])
    return runs[(len(runs) - 1) // 2]


def fmt(x, nd=0):
    return "-" if x is None else f"{x:,.{nd}f}"


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    rows = [r for r in rows if not r.get("label", "").startswith("warmup")]
    mixed, login, idle = {}, {}, []
    for r in rows:
        if r["profile"] == "mixed":
            mixed.setdefault((r["label"], r["clients"]), []).append(r)
        elif r["profile"] == "login":
            login.setdefault(r["label"], []).append(r)
        else:
            idle.append(r)

    clients = sorted({c for _, c in mixed})
    print("| clients | Mailfort cmds/s (runs) | p99 ms | tuned Dovecot cmds/s (runs) | p99 ms | ratio | "
          "server CPU ms/cmd Mailfort / Dovecot | server CPU % Mailfort / Dovecot | client CPU % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in clients:
        cells, med = [], {}
        for lab in (MF, DC):
            runs = mixed.get((lab, c), [])
            if not runs:
                cells += ["-", "-"]
                continue
            m = median_run(runs)
            med[lab] = m
            cells.append(f"**{fmt(m['cmds_per_s'])}** (" + ", ".join(fmt(r["cmds_per_s"]) for r in runs) + ")")
            cells.append(fmt(m["p99_ms"]))
        ratio = (f"{med[MF]['cmds_per_s'] / med[DC]['cmds_per_s']:.2f}x"
                 if MF in med and DC in med and med[DC]["cmds_per_s"] else "-")
        cpu = " / ".join(fmt(med[lab]["server"]["cpu_ms_per_cmd"], 2) if lab in med else "-" for lab in (MF, DC))
        pct = " / ".join(fmt(med[lab]["server"]["cpu_pct"]) if lab in med else "-" for lab in (MF, DC))
        ccpu = " / ".join(fmt(med[lab]["client_cpu_pct"]) if lab in med else "-" for lab in (MF, DC))
        print(f"| {c} | " + " | ".join(cells) + f" | {ratio} | {cpu} | {pct} | {ccpu} |")
    errs = {lab: sum(r["errors"] for (l, _), rs in mixed.items() if l == lab for r in rs) for lab in (MF, DC)}
    print(f"\nErrors (all mixed runs): Mailfort {errs[MF]}, Dovecot {errs[DC]}.\n")

    kinds = ["connect", "login", "list", "status", "select", "fetch", "fetch2", "store", "delete", "expunge",
             "append", "logout"]
    print("| p50 / p99 ms (median run) | " + " | ".join(kinds) + " |")
    print("|---" * (1 + len(kinds)) + "|")
    for c in clients:
        for lab in (MF, DC):
            runs = mixed.get((lab, c))
            if not runs:
                continue
            lat = median_run(runs)["lat_ms"]
            cells = [f'{lat[k]["p50"]:.1f} / {lat[k]["p99"]:.0f}' if k in lat else "-" for k in kinds]
            print(f"| {lab} c={c} | " + " | ".join(cells) + " |")

    if login:
        print("\n| server | logins/s (runs) | LOGIN p50 / p99 ms | connect+TLS p50 / p99 ms | server CPU ms/login |")
        print("|---|---|---|---|---|")
        for lab in (MF, DC):
            runs = login.get(lab)
            if not runs:
                continue
            runs = sorted(runs, key=lambda r: r["logins_per_s"])
            m = runs[(len(runs) - 1) // 2]
            lat = m["lat_ms"]
            per_login = (m["server"]["cpu_s"] * 1000 / (m["logins_per_s"] * m["seconds"])
                         if m.get("server") and m["logins_per_s"] else None)
            print(f"| {lab} | **{fmt(m['logins_per_s'])}** (" + ", ".join(fmt(r["logins_per_s"]) for r in runs)
                  + f") | {lat['login']['p50']:.1f} / {lat['login']['p99']:.0f} | "
                  f"{lat['connect']['p50']:.1f} / {lat['connect']['p99']:.0f} | {fmt(per_login, 2)} |")

    if idle:
        print("\n| server | IDLE connections (held) | PSS per connection KiB | total PSS MB | processes | "
              "server CPU % while idle | set-up s |")
        print("|---|---|---|---|---|---|---|")
        for r in idle:
            s = r.get("server", {})
            print(f"| {r['label']} | {r['conns']:,} ({r['conns_ok']:,}) | {fmt(s.get('pss_per_conn_kib'), 1)} | "
                  f"{fmt(s.get('loaded_pss_mb'))} | {s.get('nproc', '-')} | {fmt(s.get('idle_cpu_pct'), 2)} | "
                  f"{r['setup_s']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
