#!/usr/bin/env python3
"""Creates per block as integrations accumulate (BENCHMARKS.md, Host).

Start a release server built with the synthetic platform, then run this:

    cargo build --release -p junction-host --features synthetic
    JUNCTION_ADMIN_KEY=benchkey1234567890 RUST_LOG=warn \
        target/release/junction serve --listen 127.0.0.1:8089 --data-dir /tmp/jb &
    python3 crates/host/benches/create_blocks.py 127.0.0.1:8089

8 clients send 300 creates per block; each block waits until all are enabled.
"""
import http.client, json, sys, time, threading

host, port = sys.argv[1].split(":")
H = {"Authorization": "Bearer benchkey1234567890", "Content-Type": "application/json"}


def worker(lo, hi, k):
    c = http.client.HTTPConnection(host, int(port))
    for i in range(lo + k, hi, 8):
        b = json.dumps({"type": "Synthetic", "config": {"account": f"a{i}", "password": "pw123456", "installVersion": 1}})
        c.request("POST", "/integrations", b, H)
        c.getresponse().read()


c = http.client.HTTPConnection(host, int(port))
for blk in range(6):
    lo, hi = blk * 300, (blk + 1) * 300
    t = time.time()
    ts = [threading.Thread(target=worker, args=(lo, hi, k)) for k in range(8)]
    [x.start() for x in ts]
    [x.join() for x in ts]
    while True:
        c.request("GET", "/metrics", headers=H)
        if f'status="enabled"}} {hi}' in c.getresponse().read().decode():
            break
        time.sleep(0.005)
    print(f"block {blk}: 300 creates enabled after {time.time() - t:.2f}s")
