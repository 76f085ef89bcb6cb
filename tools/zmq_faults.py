#!/usr/bin/env python3
"""Fault injector for live spkdeblur pipelines (wire protocol: docs/protocol.md).

Sends a clean spike + RGB stream with one class of fault mixed in, over two PUSH sockets
(spikes and RGB on their own endpoints, the pipeline's PULL sources bind them), and prints
a JSON summary with the frame ids a lossless receiver must write. Scenarios:

  clean            no fault (for benchmarks: --speed paces the stream at a multiple of real time)
  extreme-headers  spike and RGB headers with extreme values (sides near 2^32, 2^20 x 2^20
                   x (2^32-1) frames, first frame index 2^63 and 2^64-1, another geometry in
                   the same stream, exposures at Int64.min/max, sequence jumps to 2^64-1)
  future-exposure  one RGB exposure 10 s ahead of the stream
  restart          the publisher restarts: new stream ids, frame clock and sequences from 0
  burst            as fast as possible (thousands of messages at --batch 8)
  rgb-ahead        every RGB frame first, then the spikes (RGB seconds ahead of spikes)
  rate             a 40 kHz stream (the pipeline must use the header's rate)

The last spike and RGB messages carry the end-of-stream flag.

  python3 tools/zmq_faults.py --spikes tcp://127.0.0.1:5555 --rgb tcp://127.0.0.1:5556 \\
      --scenario restart
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zmq_publisher import FLAG_END_OF_STREAM, rgb_header, spike_header  # noqa: E402

U32 = 2**32 - 1
U64 = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
SCENARIOS = ["clean", "extreme-headers", "future-exposure", "restart", "burst", "rgb-ahead", "rate"]


class Stream:
    """One publisher run: sequence counters, a spike clock and packed random frames."""

    def __init__(self, spikes, rgb, height, width, rate, stream_id, rng):
        self.spikes, self.rgb = spikes, rgb
        self.h, self.w, self.rate, self.id = height, width, rate, stream_id
        self.spike_seq = 0
        self.rgb_seq = 0
        self.rng = rng
        self.sent_spike_frames = 0
        self.pools = {}

    def payload(self, count):
        """Random packed frames; a small pool per size keeps the publisher fast."""
        pool = self.pools.setdefault(count, [])
        if len(pool) < 4:
            pool.append(self.rng.integers(0, 256, count * self.h * self.w // 8, dtype=np.uint8).tobytes())
            return pool[-1]
        return pool[self.rng.integers(0, len(pool))]

    def spike_message(self, first, count, flags=0, seq=None):
        payload = self.payload(count)
        s = self.spike_seq if seq is None else seq
        self.spike_seq += 1
        return [spike_header(s, first, count, self.h, self.w, self.rate, self.id, flags=flags), payload]

    def send_spikes(self, first, count, flags=0, seq=None):
        # copy=False lends the pooled payload to libzmq: a copy into a fresh message per send
        # cost the publisher more than the pipeline spends on the message (page clearing).
        self.spikes.send_multipart(self.spike_message(first, count, flags, seq), copy=False)
        self.sent_spike_frames += count

    def rgb_message(self, frame_id, first_frame, frames, flags=0, seq=None, start_ns=None, end_ns=None):
        ns = 1e9 / self.rate
        start = int(round(first_frame * ns)) if start_ns is None else start_ns
        end = int(round((first_frame + frames) * ns)) if end_ns is None else end_ns
        image = np.full((self.h, self.w, 3), frame_id % 256, dtype=np.uint8).tobytes()
        s = self.rgb_seq if seq is None else seq
        self.rgb_seq += 1
        return [rgb_header(s, frame_id, self.w, self.h, start, end, len(image), self.id, flags=flags), image]


def clean_run(st, exposures, every, batch, first_id=0, pace=0.0, end=True, hook=None, rgb_first=False,
              speed=0.0):
    """Sends `exposures` exposures of `every` spike frames; returns the frame ids sent.

    With `speed`, message k leaves at k * batch / rate / speed seconds after the start."""
    t0 = time.perf_counter()
    total = exposures * every
    ids = [first_id + i for i in range(exposures)]
    rgb = [(ids[i], i * every) for i in range(exposures)]
    if rgb_first:
        for k, (fid, f0) in enumerate(rgb):
            flags = FLAG_END_OF_STREAM if end and k == len(rgb) - 1 else 0
            st.rgb.send_multipart(st.rgb_message(fid, f0, every, flags=flags))
        rgb = []
    first = 0
    while first < total:
        count = min(batch, total - first)
        last = first + count >= total
        st.send_spikes(first, count, flags=FLAG_END_OF_STREAM if end and last else 0)
        first += count
        while rgb and rgb[0][1] + every <= first:
            fid, f0 = rgb.pop(0)
            flags = FLAG_END_OF_STREAM if end and not rgb and last else 0
            st.rgb.send_multipart(st.rgb_message(fid, f0, every, flags=flags))
            if hook:
                hook(fid)
        if pace:
            time.sleep(pace)
        if speed:
            due = t0 + first / st.rate / speed
            while time.perf_counter() < due:
                time.sleep(min(0.001, max(0.0, due - time.perf_counter())))
    return ids


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spikes", required=True, help="endpoint of the pipeline's spike source (PULL, bound)")
    p.add_argument("--rgb", required=True, help="endpoint of the pipeline's RGB source (PULL, bound)")
    p.add_argument("--scenario", required=True, choices=SCENARIOS)
    p.add_argument("--height", type=int, default=24)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--exposures", type=int, default=12)
    p.add_argument("--every", type=int, default=56, help="spike frames per exposure")
    p.add_argument("--batch", type=int, default=8, help="spike frames per message")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pace", type=float, default=0.0, help="seconds to wait after each spike message")
    p.add_argument("--speed", type=float, default=0.0, help="clean: multiple of real time (0: as fast as possible)")
    p.add_argument("--curve-server-key", help="CurveZMQ: the pipeline's public key file (.pub)")
    p.add_argument("--curve-key", help="CurveZMQ: this publisher's secret key file (.key)")
    a = p.parse_args(argv)

    ctx = zmq.Context()
    socks = []
    for ep in (a.spikes, a.rgb):
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.SNDHWM, 0)
        s.setsockopt(zmq.LINGER, 20000)
        if a.curve_server_key:
            secret = open(a.curve_key).read().strip().encode()
            s.curve_secretkey = secret
            s.curve_publickey = zmq.curve_public(secret)
            s.curve_serverkey = open(a.curve_server_key).read().strip().encode()
        s.connect(ep)
        socks.append(s)
    rng = np.random.default_rng(a.seed)
    rate = 40000.0 if a.scenario == "rate" else 20000.0
    st = Stream(socks[0], socks[1], a.height, a.width, rate, 1, rng)
    summary = {"scenario": a.scenario, "faults": 0}
    expected = []

    t_start = time.perf_counter()
    if a.scenario == "clean":
        expected = clean_run(st, a.exposures, a.every, a.batch, speed=a.speed)
    elif a.scenario == "extreme-headers":
        h, w = a.height, a.width

        def hostile(fid):
            if fid != 2:
                return
            bad = [
                [spike_header(10**6, 0, 1, U32, U32, rate, st.id), b"\0"],
                [spike_header(10**6 + 1, 0, U32, 2**20, 2**20, rate, st.id), b"\0"],
                [spike_header(10**6 + 2, 2**63, 1, h, w, rate, st.id), bytes(h * w // 8)],
                [spike_header(10**6 + 3, U64, 1, h, w, rate, st.id), bytes(h * w // 8)],
                # The stream's id with 2 rows fewer: refused until a new stream id.
                [spike_header(10**6 + 4, 0, 1, h - 2, w, rate, st.id), bytes((h - 2) * w // 8)],
            ]
            for m in bad:
                st.spikes.send_multipart(m)
            image = bytes(h * w * 3)
            rgb_bad = [
                [rgb_header(10**6, 99, U32, U32, 0, 1, len(image), st.id), image],
                [rgb_header(10**6 + 1, 98, w, h, I64_MIN, I64_MAX, len(image), st.id), image],
                [rgb_header(10**6 + 2, 97, w, h, I64_MIN, 0, len(image), st.id), image],
                [rgb_header(10**6 + 3, 96, w, h, I64_MAX - 1, I64_MAX, len(image), st.id), image],
            ]
            for m in rgb_bad:
                st.rgb.send_multipart(m)
            summary["faults"] += len(bad) + len(rgb_bad)

        expected = clean_run(st, a.exposures, a.every, a.batch, hook=hostile, end=False)
        # The last messages jump to sequence 2^64-1 (the receiver must not trap, then or when
        # it drains), and carry the end flag.
        total = a.exposures * a.every
        st.send_spikes(total, a.batch, flags=FLAG_END_OF_STREAM, seq=U64)
        st.rgb.send_multipart(st.rgb_message(10**6, -10**9, 1, flags=FLAG_END_OF_STREAM, seq=U64,
                                             start_ns=-10**15, end_ns=-10**15))
        summary["faults"] += 2
    elif a.scenario == "future-exposure":
        def future(fid):
            if fid == 2:
                ns10 = 10 * 10**9
                st.rgb.send_multipart(st.rgb_message(500, 0, 1, start_ns=ns10, end_ns=ns10 + 10**6))
                summary["faults"] += 1

        expected = clean_run(st, a.exposures, a.every, a.batch, hook=future)
    elif a.scenario == "restart":
        expected = clean_run(st, a.exposures, a.every, a.batch, end=False)
        time.sleep(0.2)
        st2 = Stream(socks[0], socks[1], a.height, a.width, rate, 2, rng)
        expected += clean_run(st2, a.exposures, a.every, a.batch, first_id=100)
        summary["faults"] += 1
    elif a.scenario == "burst":
        expected = clean_run(st, a.exposures, a.every, a.batch)
    elif a.scenario == "rgb-ahead":
        expected = clean_run(st, a.exposures, a.every, a.batch, rgb_first=True, pace=a.pace)
    elif a.scenario == "rate":
        expected = clean_run(st, a.exposures, a.every, a.batch)

    for s in socks:
        s.close()
    ctx.term()
    summary["expected_ids"] = expected
    summary["seconds"] = round(time.perf_counter() - t_start, 3)
    summary["spike_frames"] = st.sent_spike_frames
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
