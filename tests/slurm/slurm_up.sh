#!/usr/bin/env bash
# slurm_up.sh: start a private single-node Slurm (munged, slurmctld, slurmd)
# whose every file lives under one directory, for tests of jobs/*.sbatch.
#
#   bash tests/slurm/slurm_up.sh DIR
#
# DIR must exist and be empty (make it with mktemp -d). On success the
# cluster is idle and DIR/env holds `export SLURM_CONF=DIR/slurm.conf`: source
# it before any client command (sbatch, squeue, ...). Stop it with
# slurm_down.sh DIR, also after a failed start (it stops whatever started).
#
# Needs root. Installs slurmctld slurmd slurm-client munge with apt-get when
# one is missing. Nothing global is used: munged runs as the munge user with
# its own key and socket under DIR, the ports are picked free at random, the
# cluster name is unique, so a stray daemon of an earlier run cannot
# interfere. Exit status: 0 up, 1 failure, 77 not root or no apt-get (the
# caller may skip).
set -euo pipefail

die() { echo "slurm_up: $*" >&2; exit 1; }

[[ $# == 1 ]] || { echo "usage: slurm_up.sh DIR" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "slurm_up: needs root (munged runs as munge, Slurm as root)" >&2; exit 77; }
DIR=$(cd "$1" && pwd) || die "no such directory: $1"
[[ -z $(ls -A "$DIR") ]] || die "$DIR is not empty"

# --- packages ---------------------------------------------------------------
PACKAGES=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    command -v apt-get >/dev/null 2>&1 ||
        { echo "slurm_up: no apt-get to install ${missing[*]}" >&2; exit 77; }
    echo "slurm_up: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
        die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi
id munge >/dev/null 2>&1 || die "no munge user (is the munge package installed?)"

# --- layout -----------------------------------------------------------------
# munged (user munge) must reach its socket: DIR and DIR/munge are 0755 (munged
# wants execute permission for all on the way, and no write for others).
chmod 0755 "$DIR"
mkdir -p "$DIR"/{state,spool,run,log,tmp}
install -d -o munge -g munge -m 0755 "$DIR/munge"
CONF=$DIR/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket

# --- munged: private key and socket ------------------------------------------
head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
chown munge:munge "$DIR/munge/munge.key"
chmod 0400 "$DIR/munge/munge.key"
runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCKET" \
    --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
    --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed" \
    </dev/null >"$DIR/log/munged.out" 2>&1 ||
    { cat "$DIR/log/munged.out" >&2; die "munged did not start"; }
munge -S "$MUNGE_SOCKET" -n </dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null ||
    die "munge -n | unmunge fails on $MUNGE_SOCKET"

# --- free ports ---------------------------------------------------------------
# Two ports below the kernel's ephemeral range, not in use by any socket (a
# stray daemon of an earlier run keeps its own ports: we never reuse them).
port_busy() { ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }
pick_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((17000 + RANDOM % 15000))
        [[ $p == "${1:-}" ]] && continue
        port_busy "$p" || { echo "$p"; return 0; }
    done
    return 1
}
CTLD_PORT=$(pick_port) || die "no free port for slurmctld"
SLURMD_PORT=$(pick_port "$CTLD_PORT") || die "no free port for slurmd"

# --- slurm.conf -----------------------------------------------------------------
HOST=$(hostname -s)
CLUSTER=mc$(printf '%05d' $((RANDOM % 100000)))
cat >"$CONF" <<EOF
# Private single-node Slurm of one test run (slurm_up.sh); all paths under DIR.
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
TmpFS=$DIR/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
KillWait=5
MinJobAge=600
SchedulerParameters=batch_sched_delay=0
InactiveLimit=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
echo "export SLURM_CONF=$CONF" >"$DIR/env"
export SLURM_CONF=$CONF

# --- daemons --------------------------------------------------------------------
slurmctld -f "$CONF" -i </dev/null >"$DIR/log/slurmctld.out" 2>&1 ||
    { tail -n 20 "$DIR/log/slurmctld.log" >&2 2>/dev/null; die "slurmctld did not start"; }
slurmd -f "$CONF" -N "$HOST" </dev/null >"$DIR/log/slurmd.out" 2>&1 ||
    { tail -n 20 "$DIR/log/slurmd.log" >&2 2>/dev/null; die "slurmd did not start"; }

# Idle within 30 s (normally under 2 s).
for ((i = 0; i < 300; i++)); do
    state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)
    if [[ $state == idle ]]; then
        echo "slurm_up: node $HOST idle (cluster $CLUSTER, ports $CTLD_PORT/$SLURMD_PORT) in $DIR" >&2
        echo "$CONF"
        exit 0
    fi
    sleep 0.1
done
echo "slurm_up: node not idle after 30 s (state '${state:-none}')" >&2
tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 2>/dev/null || true
exit 1
