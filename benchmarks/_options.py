"""Command-line options the benchmarks share."""


def names(text, allowed, what):
    """The names of a comma-separated option (``--what a,b``), each one of `allowed`.

    Exits with a one-line message naming the option when one is not, or none is given.
    """
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in chosen if s not in allowed]
    if bad or not chosen:
        raise SystemExit(f"--{what} takes a comma-separated list of {', '.join(allowed)}; got {text!r}")
    return chosen
