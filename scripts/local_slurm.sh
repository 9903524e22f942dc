#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to try the workflow's cluster path (profiles/slurm) for real.
#
#   sudo bash scripts/local_slurm.sh up [--gpu]     # install (Debian packages), configure, start; ~10 s
#   sudo bash scripts/local_slurm.sh status
#   sudo bash scripts/local_slurm.sh down           # stop exactly the daemons `up` started
#
# Needs root and apt (Debian / Ubuntu). The cluster keeps no job accounting (accounting_storage/none):
# `sacct` cannot answer there, so runs use `--slurm-status-command squeue` (profiles/slurm says why).
# --gpu: the node offers one GPU through gres (a stand-in, File=/dev/null), so that GPU requests
# (`--gpus=1`) are scheduled on a machine without one; the jobs then run on the CPU.
# The daemons are started by hand (no systemd needed); their PIDs are kept in $STATE_DIR, and `down`
# stops those and nothing else. Where systemd started them when the packages were installed, `up`
# stops those first (they ran without this configuration).
set -euo pipefail

STATE_DIR=/run/gvos-local-slurm
CONF_DIR=/etc/slurm
PACKAGES=(slurmctld slurmd slurm-client munge)

die() { echo "local_slurm: $*" >&2; exit 2; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"; }

install_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} yourself"
    echo "local_slurm: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl stop slurmd slurmctld munge >/dev/null 2>&1 || true  # started without our configuration
    fi
}

write_config() {
    local gpu=$1 host cpus memory
    host=$(hostname -s)
    getent hosts "$host" >/dev/null || echo "127.0.1.1 $host" >> /etc/hosts  # slurmd must resolve its name
    cpus=$(nproc)
    memory=$(( $(free -m | awk '/^Mem:/ {print $2}') * 8 / 10 ))
    mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    local gres="" gres_types=""
    if [ "$gpu" = 1 ]; then
        gres=" Gres=gpu:1"
        gres_types="GresTypes=gpu"
        echo "Name=gpu File=/dev/null" > "$CONF_DIR/gres.conf"
    else
        rm -f "$CONF_DIR/gres.conf"
    fi
    cat > "$CONF_DIR/slurm.conf" <<EOF
# written by scripts/local_slurm.sh: one node, no accounting, daemons run as root
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$gres_types
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN$gres
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
EOF
}

running() {  # running NAME: a daemon `up` started is alive
    local file="$STATE_DIR/$1.pid" pid
    [ -f "$file" ] || return 1
    for pid in $(cat "$file"); do kill -0 "$pid" 2>/dev/null && return 0; done
    return 1
}

start() {
    local gpu=0
    for arg in "$@"; do
        case "$arg" in
            --gpu) gpu=1 ;;
            *) die "unknown option $arg (up [--gpu])" ;;
        esac
    done
    need_root
    if [ -f "$STATE_DIR/started" ]; then
        running "slurmctld" && die "already up (scripts/local_slurm.sh down first)"
        echo "local_slurm: the cluster recorded in $STATE_DIR no longer runs; starting afresh"
        stop >/dev/null
    fi
    install_packages
    write_config "$gpu"
    mkdir -p "$STATE_DIR" /run/munge
    chown munge:munge /run/munge
    if ! pgrep -x munged >/dev/null; then
        runuser -u munge -- /usr/sbin/munged  # it detaches: its PID is read back
        pgrep -x -u munge munged > "$STATE_DIR/munged.pid"
    fi
    /usr/sbin/slurmctld
    /usr/sbin/slurmd
    touch "$STATE_DIR/started"
    for _ in $(seq 1 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            echo "local_slurm: up, node $(hostname -s) idle ($(nproc) CPUs$([ "$gpu" = 1 ] && echo ', 1 stand-in GPU'))"
            return
        fi
        sleep 1
    done
    sinfo >&2 || true
    die "the node did not become idle in 60 s (see /var/log/slurm/)"
}

stop() {
    need_root
    local stopped=0
    for name in slurmd slurmctld munged; do
        local file="$STATE_DIR/$name.pid"
        [ -f "$file" ] || continue
        local pid
        for pid in $(cat "$file"); do
            kill -0 "$pid" 2>/dev/null || continue
            kill "$pid"
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            stopped=$((stopped + 1))
        done
        rm -f "$file"
    done
    rm -f "$STATE_DIR/started"
    echo "local_slurm: down ($stopped daemons stopped)"
}

case "${1:-}" in
    up) shift; start "$@" ;;
    down) stop ;;
    status) sinfo && squeue ;;
    *) die "usage: $0 up [--gpu] | down | status" ;;
esac
