#!/usr/bin/env python3
"""Publish a spike stream (and optionally RGB frames) in the spkdeblur wire protocol.

The protocol is described in docs/protocol.md. Spike messages ("SPK1") carry batches of
bit-packed frames in the .dat layout; RGB messages ("RGB1") carry one image each with its
exposure interval in the spike clock.

Sources: a .dat file (--dat with --height/--width) or synthetic random spikes
(--synthetic FRAMES). Faults can be injected for testing receivers: dropped sequence
numbers, swapped (reordered) and duplicated messages, malformed messages of each kind and
an unsupported version. A JSON summary is printed on stdout at the end.

Examples:
  # lossless pipeline: connect a PUSH socket to a receiver bound on port 5555
  python3 tools/zmq_publisher.py --endpoint tcp://127.0.0.1:5555 --synthetic 2000 --batch 100
  # live: bind a PUB socket, 20 kHz in real time, an RGB frame every 400 spike frames
  python3 tools/zmq_publisher.py --socket pub --bind --endpoint tcp://*:5556 \\
      --dat spikes.dat --height 250 --width 400 --speed 1 --rgb-every 400
"""

import argparse
import json
import struct
import sys
import time

import numpy as np
import zmq

VERSION_MAJOR = 1
VERSION_MINOR = 0
SPIKE_MAGIC = b"SPK1"
RGB_MAGIC = b"RGB1"
# magic, version, flags, stream id, frame count, sequence, first frame, height, width, rate
SPIKE_HEADER = struct.Struct("<4sHHIIQQIId")
# magic, version, pixel format, flags, stream id, width, height, reserved, sequence,
# frame id, exposure start ns, exposure end ns, payload length
RGB_HEADER = struct.Struct("<4sHBBIIIIQQqqQ")
assert SPIKE_HEADER.size == 48 and RGB_HEADER.size == 64
FLAG_END_OF_STREAM = 1
PIXEL_FORMATS = {"rgb8": 0, "bgr8": 1, "jpeg": 2, "png": 3}

MALFORMED_KINDS = [
    "wrongPartCount", "shortHeader", "badMagic", "invalidGeometry", "zeroFrames",
    "packedSizeMismatch", "invalidSpikeRate", "payloadLengthMismatch", "emptyPayload",
    "unknownPixelFormat", "invalidExposure", "frameIndexOutOfRange", "streamChanged",
    "unsupportedVersion",
]


def version(major=VERSION_MAJOR, minor=VERSION_MINOR):
    return (major << 8) | minor


def spike_header(seq, first, count, height, width, rate, stream_id, flags=0, ver=None):
    return SPIKE_HEADER.pack(SPIKE_MAGIC, version() if ver is None else ver, flags, stream_id,
                             count, seq, first, height, width, rate)


def rgb_header(seq, frame_id, width, height, start_ns, end_ns, length, stream_id,
               fmt=0, flags=0, ver=None):
    return RGB_HEADER.pack(RGB_MAGIC, version() if ver is None else ver, fmt, flags, stream_id,
                           width, height, 0, seq, frame_id, start_ns, end_ns, length)


def malformed_message(kind, height, width, rate, stream_id):
    """One message of the given malformed kind (sequence numbers far from the real ones)."""
    frame_bytes = height * width // 8
    good = spike_header(0, 0, 1, height, width, rate, stream_id)
    payload = bytes(frame_bytes)
    rgb_len = width * height * 3
    if kind == "wrongPartCount":
        return [good]
    if kind == "shortHeader":
        return [good[:20], payload]
    if kind == "badMagic":
        return [b"XXXX" + good[4:], payload]
    if kind == "invalidGeometry":
        return [spike_header(0, 0, 1, 3, 3, rate, stream_id), bytes(2)]
    if kind == "zeroFrames":
        return [spike_header(0, 0, 0, height, width, rate, stream_id), b""]
    if kind == "packedSizeMismatch":
        return [good, payload[:-1]]
    if kind == "invalidSpikeRate":
        return [spike_header(0, 0, 1, height, width, 0.0, stream_id), payload]
    if kind == "payloadLengthMismatch":
        return [rgb_header(0, 0, width, height, 0, 1, rgb_len + 1, stream_id), bytes(rgb_len)]
    if kind == "emptyPayload":
        return [rgb_header(0, 0, width, height, 0, 1, 0, stream_id, fmt=PIXEL_FORMATS["jpeg"]), b""]
    if kind == "unknownPixelFormat":
        return [rgb_header(0, 0, width, height, 0, 1, rgb_len, stream_id, fmt=9), bytes(rgb_len)]
    if kind == "invalidExposure":
        return [rgb_header(0, 0, width, height, 10, 5, rgb_len, stream_id), bytes(rgb_len)]
    if kind == "frameIndexOutOfRange":
        return [spike_header(0, 2**64 - 2, 1, height, width, rate, stream_id), payload]
    if kind == "streamChanged":
        # The stream's id with another geometry (twice the height), sequence far ahead.
        return [spike_header(2**40, 0, 1, 2 * height, width, rate, stream_id), bytes(2 * frame_bytes)]
    if kind == "unsupportedVersion":
        return [spike_header(0, 0, 1, height, width, rate, stream_id,
                             ver=version(VERSION_MAJOR + 1, 0)), payload]
    raise ValueError(f"unknown malformed kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")


def int_list(text):
    return [int(x) for x in text.split(",") if x.strip()] if text else []


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="zmq endpoint, e.g. tcp://127.0.0.1:5555")
    p.add_argument("--bind", action="store_true", help="bind instead of connect")
    p.add_argument("--socket", choices=["push", "pub"], default="push")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dat", help="a .dat spike file (needs --height and --width)")
    src.add_argument("--synthetic", type=int, metavar="FRAMES", help="random spike frames")
    p.add_argument("--height", type=int, default=250)
    p.add_argument("--width", type=int, default=400)
    p.add_argument("--density", type=float, default=0.1, help="synthetic spike probability")
    p.add_argument("--pool", type=int, default=256,
                   help="distinct synthetic frames, cycled (keeps long synthetic streams cheap)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=float, default=20000.0, help="spike rate in Hz")
    p.add_argument("--speed", type=float, default=0.0,
                   help="multiple of real time; 0 sends as fast as possible")
    p.add_argument("--batch", type=int, default=100, help="frames per spike message")
    p.add_argument("--stream-id", type=int, default=1)
    p.add_argument("--rgb-every", type=int, default=0,
                   help="send an RGB frame exposed over every N spike frames (0: none)")
    p.add_argument("--rgb-format", choices=["rgb8", "bgr8"], default="rgb8")
    p.add_argument("--drop", default="", help="spike sequence numbers not to send, e.g. 3,7")
    p.add_argument("--drop-every", type=int, default=0, help="drop every Kth spike message")
    p.add_argument("--swap", default="",
                   help="spike sequence numbers S whose message is sent after S+1 (reorder)")
    p.add_argument("--duplicate", default="", help="spike sequence numbers sent twice")
    p.add_argument("--malformed", default="",
                   help="comma list of kinds to inject once each after the first message: "
                        + ", ".join(MALFORMED_KINDS) + ", or 'all'")
    p.add_argument("--warmup", type=float, default=0.0,
                   help="seconds to wait after bind/connect (PUB slow joiners)")
    p.add_argument("--sndhwm", type=int, default=1000, help="ZMQ_SNDHWM in messages")
    p.add_argument("--linger", type=int, default=5000, help="ZMQ_LINGER in ms at close")
    p.add_argument("--send-timeout", type=int, default=10000,
                   help="ZMQ_SNDTIMEO in ms; a PUSH that cannot send for this long exits with 3")
    p.add_argument("--no-end-flag", action="store_true",
                   help="do not set the end-of-stream flag on the last spike message")
    args = p.parse_args(argv)
    if args.batch < 1:
        p.error("--batch must be >= 1")
    if (args.height * args.width) % 8:
        p.error(f"--height {args.height} x --width {args.width} must be a multiple of 8")
    if args.malformed == "all":
        args.malformed = ",".join(MALFORMED_KINDS)
    args.malformed = [k for k in args.malformed.split(",") if k]
    for k in args.malformed:
        if k not in MALFORMED_KINDS:
            p.error(f"--malformed: unknown kind {k!r}; known: {', '.join(MALFORMED_KINDS)}")
    return args


def load_frames(args):
    frame_bytes = args.height * args.width // 8
    if args.dat:
        try:
            data = np.fromfile(args.dat, dtype=np.uint8)
        except OSError as e:
            sys.exit(f"zmq_publisher: {args.dat}: cannot read: {e.strerror or e}")
        if data.size % frame_bytes:
            sys.exit(f"zmq_publisher: {args.dat}: size {data.size} is not a multiple of the "
                     f"frame size {frame_bytes} ({args.height}x{args.width}/8)")
        return data.reshape(-1, frame_bytes)
    rng = np.random.default_rng(args.seed)
    distinct = max(1, min(args.synthetic, args.pool))
    bits = rng.random((distinct, args.height * args.width)) < args.density
    return np.packbits(bits, axis=1, bitorder="little")


def frame_bytes(frames, first, count):
    """Packed bytes of frames [first, first + count), cycling through a synthetic pool."""
    n = frames.shape[0]
    if first + count <= n:
        return frames[first:first + count].tobytes()
    return frames[np.arange(first, first + count) % n].tobytes()


def main(argv=None):
    args = parse_args(argv)
    frames = load_frames(args)
    n_frames = args.synthetic if args.synthetic is not None else frames.shape[0]
    drop = set(int_list(args.drop))
    swap = set(int_list(args.swap))
    dup = set(int_list(args.duplicate))

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH if args.socket == "push" else zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, args.sndhwm)
    sock.setsockopt(zmq.LINGER, args.linger)
    sock.setsockopt(zmq.SNDTIMEO, args.send_timeout)
    (sock.bind if args.bind else sock.connect)(args.endpoint)
    if args.warmup > 0:
        time.sleep(args.warmup)

    stats = {"spike_messages": 0, "spike_frames": 0, "rgb_messages": 0, "dropped_messages": 0,
             "dropped_frames": 0, "swapped": 0, "duplicated": 0, "malformed": 0,
             "frames_total": n_frames}

    def send(parts):
        try:
            sock.send_multipart(parts, copy=False)
        except zmq.Again:
            print(f"zmq_publisher: send to {args.endpoint} timed out after "
                  f"{args.send_timeout} ms", file=sys.stderr)
            sys.exit(3)

    # Build the schedule of spike messages: (seq, first, count, is_last).
    batches = []
    for seq, first in enumerate(range(0, n_frames, args.batch)):
        count = min(args.batch, n_frames - first)
        batches.append((seq, first, count, first + count >= n_frames))

    rgb_seq = 0
    next_rgb_end = args.rgb_every
    held = None  # a message held back for a swap
    t0 = time.perf_counter()
    for i, (seq, first, count, last) in enumerate(batches):
        if args.speed > 0:
            due = t0 + first / (args.rate * args.speed)
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        flags = FLAG_END_OF_STREAM if last and not args.no_end_flag else 0
        header = spike_header(seq, first, count, args.height, args.width, args.rate,
                              args.stream_id, flags)
        msg = [header, frame_bytes(frames, first, count)]
        dropped = not last and (seq in drop or (args.drop_every and (seq + 1) % args.drop_every == 0))
        if dropped:
            stats["dropped_messages"] += 1
            stats["dropped_frames"] += count
        elif seq in swap and not last:
            held = msg
            stats["swapped"] += 1
        else:
            send(msg)
            stats["spike_messages"] += 1
            stats["spike_frames"] += count
            if seq in dup:
                send(msg)
                stats["duplicated"] += 1
            if held is not None and not last:
                send(held)  # arrives after its successor: stale at the receiver
                held = None
        if i == 0:
            for kind in args.malformed:
                send(malformed_message(kind, args.height, args.width, args.rate, args.stream_id))
                stats["malformed"] += 1
        while args.rgb_every and next_rgb_end <= first + count:
            start = next_rgb_end - args.rgb_every
            ns = 1e9 / args.rate
            h, w = args.height, args.width
            shade = np.uint8(rgb_seq % 256)
            image = np.full((h, w, 3), shade, dtype=np.uint8)
            payload = image.tobytes()
            send([rgb_header(rgb_seq, rgb_seq, w, h, int(start * ns), int(next_rgb_end * ns),
                             len(payload), args.stream_id, PIXEL_FORMATS[args.rgb_format]),
                  payload])
            stats["rgb_messages"] += 1
            rgb_seq += 1
            next_rgb_end += args.rgb_every
    if held is not None:
        send(held)
    stats["seconds"] = time.perf_counter() - t0
    sock.close()
    ctx.term()
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
