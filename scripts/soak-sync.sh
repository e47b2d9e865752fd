#!/usr/bin/env bash
# Soak of the sync simulation: SCHEDULES (default 1,000,000) random schedules of 2-5 replicas in a
# release build, from SEED (default: the time, printed so a failure can be replayed with
# SYNC_SEED=<seed> cargo test -p aisle --test sync_sim).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_BUILD_TARGET=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
seed=${SEED:-$(date +%s)}
echo "sync soak: ${SCHEDULES:-1000000} schedules from seed $seed"
SYNC_SCHEDULES=${SCHEDULES:-1000000} SYNC_SEED=$seed \
  cargo test --release -p aisle --test sync_sim -- --nocapture replicas_converge
