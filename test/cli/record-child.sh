#!/bin/sh
# The command the tests run under `tenure run`: it records its life in $RECORD, one line per
# event, "<event> <identity> <wall clock ns> <pid> <transitions>", all processes on one clock
# (this machine's wall clock, which the holder also writes into renewTime).
#   CHILD_EXIT_AFTER=N   exit by itself after N beats, with status CHILD_EXIT_CODE (default 0)
#   CHILD_IGNORE_TERM=1  ignore SIGTERM (record "term" instead), so only SIGKILL ends it
log() { echo "$1 $TENURE_IDENTITY $(date +%s%N) $$ $TENURE_TRANSITIONS" >> "$RECORD"; }
log start
if [ "$CHILD_IGNORE_TERM" = 1 ]; then trap 'log term' TERM; else trap 'log stop; exit 0' TERM; fi
beats=0
while :; do
  log beat
  beats=$((beats + 1))
  if [ -n "$CHILD_EXIT_AFTER" ] && [ "$beats" -ge "$CHILD_EXIT_AFTER" ]; then log exit; exit "${CHILD_EXIT_CODE:-0}"; fi
  # In the background, so that a trapped signal interrupts the wait at once.
  sleep 0.1 & wait $!
done
