"""``python -m neon_emulator --host 127.0.0.1 --port 4010 --seed 20``"""

from __future__ import annotations

import argparse
import sys

from neon_emulator.app import CONSUMPTION_RATE_LIMIT, EmulatorApp, consumption_rate
from neon_emulator.errors import ApiError
from neon_emulator.limits import DEFAULT_CEILING, ceiling_value
from neon_emulator.rate_limits import Rate, parse_rate
from neon_emulator.server import build_server
from neon_emulator.state import StateError


def _rate(value: str) -> Rate:
    try:
        return parse_rate(value, "rate")
    except ApiError:
        raise argparse.ArgumentTypeError(
            f"expected N/s, N/min or N/h with N a positive integer, got {value!r}"
        ) from None


def _consumption_rate(value: str) -> Rate | None:
    try:
        return consumption_rate(value)
    except ApiError:
        raise argparse.ArgumentTypeError(
            f"expected N/s, N/min, N/h or off, with N a positive integer, got {value!r}"
        ) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m neon_emulator", description="Local emulator of the Neon API v2."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed N projects")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        default=[],
        metavar="KEY",
        help="accept only these bearer keys (repeatable); default: any non-empty key",
    )
    parser.add_argument(
        "--op-seconds",
        type=float,
        default=2.0,
        metavar="S",
        help="how long operations take to finish (default 2)",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, metavar="MS", help="added to every API request"
    )
    parser.add_argument(
        "--max-autoscaling-limit",
        type=float,
        default=DEFAULT_CEILING,
        metavar="CU",
        help="the account's plan ceiling, GET /users/me max_autoscaling_limit "
        f"(default {DEFAULT_CEILING}; 0 means none, 2 is Neon's Free plan)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate,
        default=None,
        metavar="N/UNIT",
        help="refuse with 429 beyond N requests per API key over all routes, in a sliding "
        "window; UNIT is s, min or h (Neon's is 700/min; default: no limit)",
    )
    parser.add_argument(
        "--burst",
        type=_rate,
        default=None,
        metavar="N/UNIT",
        help="refuse with 429 beyond N requests per API key and route, in a sliding window "
        "(Neon's is 40/s; default: no limit)",
    )
    parser.add_argument(
        "--consumption-rate-limit",
        type=_consumption_rate,
        default=CONSUMPTION_RATE_LIMIT,
        metavar="N/UNIT",
        help="refuse consumption history requests with 429 beyond N per API key, in a bucket "
        f"of their own (default {CONSUMPTION_RATE_LIMIT}, Neon's; off turns it off)",
    )
    parser.add_argument(
        "--org-only",
        action="store_true",
        help="the user belongs only to organizations: no personal projects, and listing or "
        "creating projects without org_id gets Neon's 400 'org_id is required'",
    )
    parser.add_argument(
        "--state",
        metavar="PATH",
        default=None,
        help="keep the account in this file: loaded at start if it exists (else seeded, then "
        "written), and written after every change, so a restart brings back the same projects",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.seed < 0 or args.op_seconds < 0 or args.latency_ms < 0:
        parser.error("--seed, --op-seconds and --latency-ms must not be negative")
    try:
        args.max_autoscaling_limit = ceiling_value(
            args.max_autoscaling_limit, "--max-autoscaling-limit"
        )
    except ApiError as error:
        parser.error(error.message)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        app = _app(args)
    except StateError as error:
        sys.exit(f"neon emulator: {error}")
    server = build_server(app, args.host, args.port, verbose=args.verbose)
    host, port = server.server_address[:2]
    print(f"neon emulator listening on http://{host}:{port}/api/v2", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.closing.set()
        server.server_close()
    sys.exit(0)


def _app(args: argparse.Namespace) -> EmulatorApp:
    return EmulatorApp(
        seed_count=args.seed,
        api_keys=args.api_keys,
        op_seconds=args.op_seconds,
        latency_ms=args.latency_ms,
        max_autoscaling_limit=args.max_autoscaling_limit,
        rate_limit=args.rate_limit,
        burst=args.burst,
        org_only=args.org_only,
        consumption_rate_limit=args.consumption_rate_limit,
        state_path=args.state,
    )


if __name__ == "__main__":
    main()
