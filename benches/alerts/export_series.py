"""Exports the real seasonal series of `jidoka bench alerts` as CSV.

Usage: python3 export_series.py DIR

Writes DIR/co2.csv, DIR/elnino.csv and DIR/sunspots.csv, each with a header
`event_time_ms,<feature>` and one row per observation in time order
(event time in milliseconds since the Unix epoch, UTC). The data sets ship
inside the statsmodels package: nothing is downloaded.

- co2: Mauna Loa CO2 (ppm), weekly, 1958-03-29 to 2001-12-29, 2,284 rows.
  The 59 missing weeks are filled by linear interpolation in time. The
  series rises by ~50 ppm over 44 years, a real change that would make
  every window differ from the reference; it is removed with the classical
  decomposition's trend (`statsmodels.tsa.seasonal.seasonal_decompose`
  with period 52: a centred 2x52-week moving average), which leaves
  the yearly cycle (~6 ppm peak to peak) and the noise. The 26 weeks at
  each end, where that average is undefined, are dropped: 2,232 rows.
- elnino: sea surface temperature (deg C) of the El Nino region, monthly,
  1950-01 to 2010-12, 732 rows (the 61 x 12 table read row by row), event
  time the first of each month. Nothing removed: the yearly cycle and the
  El Nino / La Nina episodes are what the series is.
- sunspots: yearly sunspot numbers, 1700 to 2008, 309 rows, event time
  1 January of each year; the ~11-year solar cycle, nothing removed.

Exit status: 0 written; 3 a Python package is missing (the message names
the pip install command); 1 anything else.
"""

import sys


def fail_missing(package):
    print(
        f"missing Python package {package}: pip install {package}",
        file=sys.stderr,
    )
    sys.exit(3)


try:
    import numpy as np
except ImportError:
    fail_missing("numpy")
try:
    import pandas as pd
    import statsmodels.api as sm
    from statsmodels.tsa.seasonal import seasonal_decompose
except ImportError:
    fail_missing("statsmodels")

from pathlib import Path

EPOCH = pd.Timestamp("1970-01-01")


def ms(times):
    """Milliseconds since the epoch of naive UTC timestamps."""
    return [int((t - EPOCH) // pd.Timedelta(milliseconds=1)) for t in times]


def write(path, times, name, values):
    values = np.asarray(values, dtype=float)
    if len(times) != len(values) or not np.all(np.isfinite(values)):
        raise ValueError(f"{path}: {len(times)} times, {len(values)} finite values expected")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"event_time_ms,{name}\n")
        for t, v in zip(ms(times), values):
            f.write(f"{t},{float(v)!r}\n")
    print(f"{path}: {len(values)} rows", file=sys.stderr)


def co2(out):
    data = sm.datasets.co2.load_pandas().data["co2"]
    filled = data.interpolate(method="time")
    trend = seasonal_decompose(filled, model="additive", period=52).trend
    detrended = (filled - trend).dropna()
    write(out / "co2.csv", list(detrended.index), "co2", detrended.values)


def elnino(out):
    table = sm.datasets.elnino.load_pandas().data
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN",
              "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    times, values = [], []
    for _, row in table.iterrows():
        for m, month in enumerate(months):
            times.append(pd.Timestamp(year=int(row["YEAR"]), month=m + 1, day=1))
            values.append(row[month])
    write(out / "elnino.csv", times, "sst", values)


def sunspots(out):
    table = sm.datasets.sunspots.load_pandas().data
    times = [pd.Timestamp(year=int(y), month=1, day=1) for y in table["YEAR"]]
    write(out / "sunspots.csv", times, "sunactivity", table["SUNACTIVITY"].values)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    co2(out)
    elnino(out)
    sunspots(out)


if __name__ == "__main__":
    main()
