#!/bin/bash
# Instructions of 2,000 keep-alive GET /integrations/1 under callgrind (BENCHMARKS.md, Host).
# callgrind_get.sh BIN OUTPREFIX            : BIN is a release `junction` built with --features synthetic
# callgrind_get.sh BENCH_EXE OUTPREFIX bare BODYFILE : the api bench executable as the bare handler
# Then: callgrind_annotate OUTPREFIX.<pid>.1 | head
BIN=$1; OUT=$2; K="Authorization: Bearer jct_bench_admin_key_0123456789abcdef"
D=$(mktemp -d)
if [ "$3" = bare ]; then
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$OUT.%p $BIN bare-server $4 > $D/log 2>&1 &
  P=$!; for i in $(seq 100); do grep -q "listening" $D/log && break; sleep 0.2; done
  URL=http://$(grep -o 'bare listening on http://[0-9.:]*' $D/log | sed 's|.*http://||')/integrations/1
else
  JUNCTION_ADMIN_KEY=jct_bench_admin_key_0123456789abcdef RUST_LOG=warn valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$OUT.%p $BIN serve --listen 127.0.0.1:18811 --data-dir $D/d > $D/log 2>&1 &
  P=$!; for i in $(seq 100); do grep -q "listening" $D/log && break; sleep 0.2; done
  curl -s -X POST -H "$K" -H 'content-type: application/json' http://127.0.0.1:18811/integrations -d '{"type": "Synthetic", "autoBootstrap": false, "config": {"account": "bench-1", "password": "bench-password", "label": "bench", "installVersion": 1}}' >/dev/null
  sleep 2; URL=http://127.0.0.1:18811/integrations/1
fi
curl -s -H "$K" $URL > $OUT.body; head -c 80 $OUT.body; echo
for i in $(seq 50); do curl -s -o /dev/null -H "$K" $URL $URL; done   # warm
callgrind_control -i on $P >/dev/null
for i in $(seq 2000); do echo "url = \"$URL\""; echo "output = \"/dev/null\""; done > $D/urls
curl -s -o /dev/null -H "$K" -K $D/urls
callgrind_control -d $P >/dev/null; callgrind_control -i off $P > /dev/null
kill $P; wait $P 2>/dev/null; rm -rf $D
