#!/bin/sh
# The chassis of the simulated machine, as ipmi_sim sees it through its `chassis_control "PROGRAM"` line
# (OpenIPMI's lan.conf(5): ipmi_sim runs PROGRAM DEVICE get|set|check PARM... for the chassis power, reset and
# boot device, and reads what it prints):
#
#   chassis-control.sh --state FILE [--events FILE] [--hook PROGRAM] <device> get power|boot ...
#   chassis-control.sh --state FILE [--events FILE] [--hook PROGRAM] <device> set <parm> <value> ...
#
# ipmi_sim starts this with popen() on every chassis request (a `power status` too) and reads stdout until end
# of file, so it is plain sh: it answers in milliseconds, where a node program took 60 ms per request. Nothing
# may keep stdout open after we exit: the hook (the lab points it at QEMU) runs detached in its own session with
# every descriptor on /dev/null.
# Output of `get` is one `<parm>:<value>` line per parm; `set` prints nothing on success and an error line and
# a non-zero exit otherwise (ipmi_sim then answers the IPMI request with an error completion code).
#
# State (JSON, one line): {"power":0|1,"boot":"none"|"pxe"|"default"|"cdrom"|"bios","powerStuck":bool,"sequence":n}.
# Every hook call carries RESCUED_CHASSIS_SEQUENCE (n, counted up per event): hooks run detached and may finish
# out of order (a cycle's power-off after its power-on), so the hook can drop an event older than one it applied.
# The boot device is one-time, as `ipmitool chassis bootdev` asks: it is consumed by the next power-on or reset.
# `powerStuck` makes power requests succeed without effect, like a BMC that acknowledges and does nothing.
set -u

fail() {
  printf '%s\n' "$1"
  exit 1
}

state_file=
events_file=
hook=
while [ $# -gt 0 ]; do
  case $1 in
    --state|--events|--hook)
      [ $# -ge 2 ] || fail "chassis-control: bad option $1"
      case $1 in
        --state) state_file=$2 ;;
        --events) events_file=$2 ;;
        --hook) hook=$2 ;;
      esac
      shift 2
      ;;
    --*) fail "chassis-control: bad option $1" ;;
    *) break ;;
  esac
done
[ -n "$state_file" ] || fail 'chassis-control: --state FILE is required'
[ $# -ge 1 ] || fail 'No device given'
[ $# -ge 2 ] || fail 'No operation given'
device=$1
operation=$2
shift 2
# The device goes into a JSON string unescaped: ipmi_sim passes an IPMB address such as 0x20.
case $device in
  *[!A-Za-z0-9]*) fail "Invalid device: $device" ;;
esac

valid_boot() {
  case $1 in
    none|pxe|default|cdrom|bios) return 0 ;;
    *) return 1 ;;
  esac
}

# The state as the lab (lab/bmc/ipmi-sim.ts) and this program write it: compact JSON. A missing file is a
# machine that is off with no boot device chosen.
power=0
boot=none
stuck=false
sequence=0
if [ -f "$state_file" ]; then
  text=$(cat "$state_file") || fail "chassis-control: cannot read $state_file"
  case $text in *'"power":1'*) power=1 ;; esac
  case $text in *'"powerStuck":true'*) stuck=true ;; esac
  case $text in
    *'"boot":"'*)
      rest=${text#*\"boot\":\"}
      boot=${rest%%\"*}
      valid_boot "$boot" || boot=none
      ;;
  esac
  case $text in
    *'"sequence":'[0-9]*)
      rest=${text#*\"sequence\":}
      sequence=${rest%%[!0-9]*}
      ;;
  esac
fi

write_state() {
  partial="$state_file.$$.tmp"
  printf '{"power":%s,"boot":"%s","powerStuck":%s,"sequence":%s}\n' "$power" "$boot" "$stuck" "$sequence" >"$partial" &&
    mv -f "$partial" "$state_file" || fail "chassis-control: cannot write $state_file"
}

# record_event ACTION [BOOT_DEVICE [VALUE]]: numbers the event, appends it to the events file, starts the hook.
record_event() {
  sequence=$((sequence + 1))
  if [ -n "$events_file" ]; then
    extra=
    [ -n "${2:-}" ] && extra="$extra,\"bootDevice\":\"$2\""
    [ -n "${3:-}" ] && extra="$extra,\"value\":$3"
    printf '{"at":"%s","device":"%s","action":"%s"%s}\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$device" "$1" "$extra" >>"$events_file"
  fi
  if [ -n "$hook" ]; then
    if [ -n "${2:-}" ]; then
      RESCUED_CHASSIS_SEQUENCE=$sequence setsid "$hook" "$1" "$2" </dev/null >/dev/null 2>&1 &
    else
      RESCUED_CHASSIS_SEQUENCE=$sequence setsid "$hook" "$1" </dev/null >/dev/null 2>&1 &
    fi
  fi
}

# A power-on or a reset boots the machine: it boots from the one-time device, which is then used up.
boot_machine() {
  if [ "$boot" = none ]; then record_event "$1" default; else record_event "$1" "$boot"; fi
  boot=none
}

case $operation in
  get)
    for parameter in "$@"; do
      case $parameter in
        power) printf 'power:%s\n' "$power" ;;
        boot) printf 'boot:%s\n' "$boot" ;;
        *) fail "Invalid parameter: $parameter" ;;
      esac
    done
    ;;
  set)
    while [ $# -gt 0 ]; do
      parameter=$1
      [ $# -ge 2 ] || fail "No value present for parameter $parameter"
      value=$2
      shift 2
      case $parameter in
        power)
          if [ "$value" = 1 ]; then wanted=1; else wanted=0; fi
          if [ "$stuck" = true ]; then
            record_event power-ignored '' "$wanted"
          elif [ "$wanted" != "$power" ]; then
            power=$wanted
            if [ "$wanted" = 1 ]; then boot_machine power-on; else record_event power-off; fi
          fi
          ;;
        reset)
          if [ "$stuck" = true ]; then record_event reset-ignored
          elif [ "$power" = 0 ]; then fail 'Cannot reset: the machine is powered off'
          else boot_machine reset
          fi
          ;;
        shutdown)
          if [ "$stuck" = true ]; then record_event shutdown-ignored
          elif [ "$power" = 1 ]; then
            power=0
            record_event soft-off
          fi
          ;;
        boot)
          valid_boot "$value" || fail "Invalid boot value: $value"
          boot=$value
          record_event boot-device "$value"
          ;;
        identify)
          # identify carries two values (interval and force); nothing to keep.
          [ $# -ge 1 ] && shift
          ;;
        *) fail "Invalid parameter: $parameter" ;;
      esac
    done
    write_state
    ;;
  check) exit 1 ;;
  *) fail "Unknown operation: $operation" ;;
esac
exit 0
