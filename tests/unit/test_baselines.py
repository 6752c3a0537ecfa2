"""Statistical baselines on hand-made series whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from seqlab.baselines import (
    ClimatologyAR,
    ar_forecast,
    baseline_rows,
    choose_season_smoothing,
    climatology,
    climatology_ar,
    fit_ar,
    fit_climatology,
    fit_climatology_ar,
    moving_average_differencing,
    persistence,
    season_keys,
    seasonal_naive,
    selected_ar_order,
    series_baselines,
    smooth_seasons,
    text_baseline,
)

PERIOD = 12
PROFILE = np.array([-5.0, -4.0, -1.0, 2.0, 5.0, 8.0, 9.0, 8.5, 6.0, 2.0, -1.5, -4.0])


def windows_index(first: int, last: int, horizon: int = 1) -> np.ndarray:
    """Target index of windows whose first target runs first..last (like test_target_index)."""
    return np.arange(first, last - horizon + 2)[:, np.newaxis] + np.arange(horizon)


def periodic(n: int, slope: float = 0.0, offset: float = 3.0) -> np.ndarray:
    time = np.arange(n)
    return offset + slope * time + PROFILE[time % PERIOD]


# --------------------------------------------------------------------------- naive


def test_persistence_on_a_ramp_repeats_the_value_at_the_origin() -> None:
    values = np.arange(60, dtype=float)
    targets = windows_index(40, 59)
    np.testing.assert_array_equal(persistence(values, targets), targets - 1)


def test_persistence_multi_step_uses_the_value_at_the_window_end_for_every_step() -> None:
    values = np.arange(60, dtype=float) * 2
    targets = windows_index(40, 59, horizon=3)
    forecast = persistence(values, targets)
    assert forecast.shape == targets.shape
    np.testing.assert_array_equal(forecast, np.repeat(values[targets[:, :1] - 1], 3, axis=1))


def test_persistence_keeps_a_one_dimensional_target_index_flat() -> None:
    values = np.arange(10, dtype=float)
    np.testing.assert_array_equal(persistence(values, np.array([5, 7])), [4.0, 6.0])


def test_seasonal_naive_is_exact_on_a_pure_periodic_series() -> None:
    values = periodic(120)
    targets = windows_index(96, 119)
    np.testing.assert_array_equal(seasonal_naive(values, targets, PERIOD), values[targets])


def test_seasonal_naive_beyond_one_period_uses_the_latest_observed_season() -> None:
    values = periodic(120)
    targets = windows_index(96, 119, horizon=15)  # steps 13..15 need two periods back
    forecast = seasonal_naive(values, targets, PERIOD)
    np.testing.assert_array_equal(forecast, values[targets])
    ramp = np.arange(120, dtype=float)
    ramp_forecast = seasonal_naive(ramp, targets, PERIOD)
    origins = targets[:, :1] - 1
    assert np.all(ramp_forecast <= origins)  # never a value after the origin
    np.testing.assert_array_equal(ramp_forecast[:, 12], targets[:, 12] - 2 * PERIOD)


def test_seasonal_naive_without_a_period_of_history_raises() -> None:
    with pytest.raises(ValueError, match="target_index"):
        seasonal_naive(np.arange(20.0), np.array([[5]]), PERIOD)


# --------------------------------------------------------------------------- climatology


def test_climatology_is_exact_on_a_periodic_series_without_noise() -> None:
    values = periodic(240)
    seasons = season_keys("periodic", None, values.size, PERIOD)
    targets = windows_index(200, 239, horizon=2)
    np.testing.assert_allclose(climatology(values, targets, seasons, 200), values[targets], atol=1e-12)


def test_climatology_with_trend_recovers_a_linear_trend_and_the_seasonal_profile() -> None:
    values = periodic(300, slope=0.05)
    seasons = season_keys("periodic", None, values.size, PERIOD)
    model = fit_climatology(values, seasons, 250, trend=True)
    assert model.slope == pytest.approx(0.05, abs=1e-12)
    np.testing.assert_allclose(model.season_means, 3.0 + PROFILE, atol=1e-10)
    targets = windows_index(250, 299)
    np.testing.assert_allclose(
        climatology(values, targets, seasons, 250, trend=True), values[targets], atol=1e-9
    )
    assert np.abs(climatology(values, targets, seasons, 250) - values[targets]).mean() > 1.0


def test_climatology_refuses_in_sample_targets_and_unseen_seasons() -> None:
    values = periodic(120)
    seasons = season_keys("periodic", None, values.size, PERIOD)
    with pytest.raises(ValueError, match="split_index"):
        climatology(values, windows_index(90, 119), seasons, 100)
    unseen = seasons.copy()
    unseen[110] = 40
    with pytest.raises(ValueError, match="season_of"):
        climatology(values, windows_index(100, 119), unseen, 100)
    with pytest.raises(ValueError, match="season_of"):
        climatology(values, windows_index(100, 119), seasons[:50], 100)


# --------------------------------------------------------------------------- AR on anomalies


def simulated_ar1(n: int, phi: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, n)
    anomalies = np.empty(n)
    anomalies[0] = noise[0]
    for t in range(1, n):
        anomalies[t] = phi * anomalies[t - 1] + noise[t]
    time = np.arange(n)
    return 10.0 + 0.002 * time + PROFILE[time % PERIOD] + anomalies, anomalies


def test_fit_ar_recovers_phi_and_matches_statsmodels() -> None:
    from statsmodels.tsa.ar_model import AutoReg

    _, anomalies = simulated_ar1(5000, 0.7)
    phi = fit_ar(anomalies, 1)
    assert phi[0] == pytest.approx(0.7, abs=0.03)
    reference = AutoReg(anomalies, lags=2, trend="n").fit().params
    np.testing.assert_allclose(fit_ar(anomalies, 2), reference, rtol=1e-8)


def test_bic_drops_an_ar_term_fitted_to_white_noise_and_keeps_a_real_one() -> None:
    noise = np.random.default_rng(3).normal(size=1000)
    assert fit_ar(noise, 3)[0] != 0.0  # a fixed order fits something to pure noise
    np.testing.assert_array_equal(fit_ar(noise, 3, "bic"), np.zeros(3))
    _, anomalies = simulated_ar1(1000, 0.5)
    chosen = fit_ar(anomalies, 3, "bic")
    assert chosen.shape == (3,)
    assert chosen[0] == pytest.approx(fit_ar(anomalies, 1)[0])  # AR(1) chosen, refitted on its own
    np.testing.assert_array_equal(chosen[1:], 0.0)


def test_ar_order_selection_matches_statsmodels_where_statsmodels_works() -> None:
    from statsmodels.tsa.ar_model import ar_select_order

    for phi, seed in ((0.0, 4), (0.3, 5), (0.8, 6)):
        _, anomalies = simulated_ar1(800, phi, seed=seed)
        for criterion in ("aic", "bic"):
            lags = ar_select_order(anomalies, maxlag=3, ic=criterion, trend="n").ar_lags
            assert selected_ar_order(anomalies, 3, criterion) == (max(lags) if lags else 0)


def test_an_unknown_ar_selection_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="selection: expected one of none, aic, bic, got 'hqic'"):
        fit_ar(np.random.default_rng(0).normal(size=100), 1, "hqic")


def test_climatology_trend_ar_beats_plain_climatology_on_an_ar1_process() -> None:
    values, _ = simulated_ar1(3000, 0.8, seed=1)
    seasons = season_keys("periodic", None, values.size, PERIOD)
    targets = windows_index(2400, 2999)
    truth = values[targets]
    with_ar = np.abs(climatology_ar(values, targets, seasons, 2400, order=1, trend=True) - truth).mean()
    plain = np.abs(climatology(values, targets, seasons, 2400, trend=True) - truth).mean()
    assert with_ar < 0.8 * plain
    assert with_ar == pytest.approx(np.sqrt(2 / np.pi), rel=0.1)  # E|noise| for unit normal noise


def test_climatology_ar_iterates_for_later_horizon_steps() -> None:
    values, _ = simulated_ar1(400, 0.6, seed=2)
    seasons = season_keys("periodic", None, values.size, PERIOD)
    targets = np.array([[330, 331, 332], [360, 361, 362]])
    forecast = climatology_ar(values, targets, seasons, 300, order=1, trend=True)
    model = fit_climatology(values, seasons, 300, trend=True)
    phi = fit_ar(values[:300] - model.predict(np.arange(300), seasons), 1)[0]
    origins = targets[:, 0] - 1
    anomaly = values[origins] - model.predict(origins, seasons)
    expected = model.predict(targets, seasons) + anomaly[:, np.newaxis] * phi ** np.arange(1, 4)
    np.testing.assert_allclose(forecast, expected, rtol=1e-12)


def test_ar_forecast_with_phi_feeds_back_its_own_forecasts() -> None:
    paths = ar_forecast(np.array([[1.0, 2.0], [0.0, 4.0]]), np.array([0.5, 0.25]), 2)
    # a[t] = 0.5 a[t-1] + 0.25 a[t-2]
    np.testing.assert_allclose(paths[:, 0], [0.5 * 2 + 0.25 * 1, 0.5 * 4])
    np.testing.assert_allclose(paths[:, 1], [0.5 * 1.25 + 0.25 * 2, 0.5 * 2 + 0.25 * 4])


# --------------------------------------------------------------------------- moving average + differencing


def test_moving_average_differencing_matches_the_documented_formula() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=200).cumsum()
    targets = windows_index(150, 199)
    period, window, smooth = 20, 7, 4
    forecast = moving_average_differencing(values, targets, period, window, smooth)
    expected = []
    for t in targets[:, 0]:
        origin = t - 1
        diffs = [values[s] - values[s - period] for s in range(origin - window + 1, origin + 1)]
        start = t - period - smooth // 2
        expected.append(np.mean(diffs) + np.mean(values[start : start + smooth]))
    np.testing.assert_allclose(forecast[:, 0], expected, rtol=1e-12)


def test_moving_average_differencing_is_exact_on_trend_plus_season() -> None:
    values = periodic(200, slope=0.3)
    targets = windows_index(150, 199, horizon=4)
    forecast = moving_average_differencing(values, targets, PERIOD, window=10, smooth=1)
    np.testing.assert_allclose(forecast, values[targets], atol=1e-10)


def test_moving_average_differencing_refuses_to_smooth_past_the_origin() -> None:
    values = periodic(200)
    with pytest.raises(ValueError, match="smooth"):
        moving_average_differencing(values, windows_index(150, 199, horizon=10), PERIOD, window=5, smooth=8)


# --------------------------------------------------------------------------- no look-ahead


@pytest.mark.parametrize("horizon", [1, 3])
def test_no_baseline_reads_the_target_or_later_values(horizon: int) -> None:
    values, _ = simulated_ar1(1200, 0.6, seed=4)
    split = 900
    seasons = season_keys("periodic", None, values.size, PERIOD)
    targets = windows_index(split, values.size - 1, horizon)
    clean = series_baselines(values, targets, split, seasons, PERIOD, 2, ma_window=20, ma_smooth=3)
    assert set(clean) >= {
        "persistence",
        "seasonal_naive",
        "climatology",
        "climatology_trend",
        "climatology_ar",
        "climatology_trend_ar",
        "moving_average_differencing",
    }
    for row in (0, 1, 57, targets.shape[0] - 1):
        poisoned = values.copy()
        poisoned[targets[row, 0] :] = np.nan
        single = series_baselines(
            poisoned, targets[row : row + 1], split, seasons, PERIOD, 2, ma_window=20, ma_smooth=3
        )
        for name, forecast in single.items():
            assert np.all(np.isfinite(forecast)), name
            np.testing.assert_allclose(forecast[0], clean[name][row], rtol=1e-12, err_msg=name)


def test_nan_at_a_used_input_is_refused() -> None:
    values = np.arange(30, dtype=float)
    values[19] = np.nan
    with pytest.raises(ValueError, match="values"):
        persistence(values, np.array([[20]]))


def test_bad_target_index_is_refused() -> None:
    values = np.arange(30, dtype=float)
    with pytest.raises(ValueError, match="target_index"):
        persistence(values, np.array([[0]]))
    with pytest.raises(ValueError, match="target_index"):
        persistence(values, np.array([[30]]))
    with pytest.raises(ValueError, match="target_index"):
        persistence(values, np.array([[5.0]]))


# --------------------------------------------------------------------------- season keys


def test_season_keys_monthly_daily_and_periodic() -> None:
    months = season_keys("monthly", ["2019-11", "2019-12", "2020-01"], 3, 12)
    np.testing.assert_array_equal(months, [10, 11, 0])
    dates = ["2019-02-28", "2019-03-01", "2019-12-31", "2020-02-28", "2020-02-29", "2020-03-01", "2020-12-31"]
    days = season_keys("daily", dates, len(dates), 365)
    np.testing.assert_array_equal(days, [58, 59, 364, 58, 58, 59, 364])
    np.testing.assert_array_equal(season_keys("periodic", None, 5, 2), [0, 1, 0, 1, 0])


def test_season_keys_refuses_mismatched_dates_and_kinds() -> None:
    with pytest.raises(ValueError, match="dates"):
        season_keys("monthly", ["2019-11"], 2, 12)
    with pytest.raises(ValueError, match="dataset_kind"):
        season_keys("weekly", None, 2, 7)
    with pytest.raises(ValueError, match="dates"):
        season_keys("daily", ["2019-11"], 1, 365)


# --------------------------------------------------------------------------- text


def synthetic_reviews(count: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    positive = ["great", "wonderful", "brilliant", "moving", "superb", "loved"]
    negative = ["awful", "boring", "terrible", "waste", "dull", "hated"]
    neutral = ["the", "film", "movie", "plot", "actor", "scene", "story", "was", "and", "a"]
    labels = rng.integers(0, 2, count)
    texts = []
    for label in labels:
        sentiment = positive if label else negative
        words = (
            list(rng.choice(neutral, 12))
            + list(rng.choice(sentiment, 2))
            + list(rng.choice(positive + negative, 1))
        )
        rng.shuffle(words)
        texts.append(" ".join(words) + "<br /><br />")
    return texts, labels


def test_text_baseline_beats_chance_clearly_on_a_sentiment_corpus() -> None:
    train_texts, train_labels = synthetic_reviews(300, seed=0)
    test_texts, test_labels = synthetic_reviews(200, seed=1)
    probabilities = text_baseline(train_texts, train_labels, test_texts)
    assert probabilities.shape == (200,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert ((probabilities >= 0.5) == test_labels).mean() > 0.9


def test_text_baseline_refuses_bad_labels() -> None:
    with pytest.raises(ValueError, match="train_labels"):
        text_baseline(["good", "bad"], [1], ["ok"])
    with pytest.raises(ValueError, match="train_labels"):
        text_baseline(["good", "bad"], [1, 1], ["ok"])


@pytest.mark.parametrize("horizon", [1, 3])
def test_baseline_rows_are_the_reported_baseline_and_its_one_step_residuals(horizon: int) -> None:
    """What a hybrid reads: climatology_ar's own forecasts, and value minus one-step forecast per step."""
    rng = np.random.default_rng(3)
    size, split, order, window = 120, 96, 2, 5
    seasons = np.arange(size) % PERIOD
    values = PROFILE[seasons] + 0.02 * np.arange(size) + rng.normal(0, 1, size)
    targets = windows_index(split, size - 1, horizon)
    model = fit_climatology_ar(values, seasons, split, order=order, trend=True)
    times = np.arange(size, dtype=np.float64)
    residuals, forecasts = baseline_rows(model, values, times, seasons, targets[:, 0] - 1, horizon, window)
    expected = climatology_ar(values, targets, seasons, split, order=order, trend=True)
    np.testing.assert_allclose(forecasts, expected.reshape(forecasts.shape), atol=1e-10)
    # The residual at a position is its value minus the baseline's one-step forecast from before it.
    position = int(targets[1, 0]) - 1  # row 1's origin: the first test target, split
    one_step = climatology_ar(values, np.array([[position]]), seasons, split, order=order, trend=True)
    assert residuals[1, -1] == pytest.approx(values[position] - one_step[0, 0], abs=1e-10)
    # Values after an origin are never read: NaN there changes nothing.
    hidden = values.copy()
    hidden[int(targets[0, 0]) :] = np.nan
    early, ahead = baseline_rows(model, hidden, times, seasons, targets[:1, 0] - 1, horizon, window)
    np.testing.assert_array_equal(early, residuals[:1])
    np.testing.assert_array_equal(ahead, forecasts[:1])
    # A record round-trips through JSON-able values (what a served hybrid is given).
    again = ClimatologyAR.from_dict(model.to_dict())
    np.testing.assert_array_equal(again.phi, model.phi)
    with pytest.raises(ValueError, match="fewer than max"):
        baseline_rows(model, values, times, seasons, np.array([1]), horizon, window)


# --------------------------------------------------------------------------- smoothed climatology


def test_smooth_seasons_averages_neighbours_around_the_cycle_and_keeps_unseen_seasons() -> None:
    means = np.array([0.0, 3.0, 6.0, np.nan, 9.0])
    smoothed = smooth_seasons(means, 3)
    assert smoothed[0] == pytest.approx((9.0 + 0.0 + 3.0) / 3)  # the cycle closes: key 4 is key 0's neighbour
    assert smoothed[1] == pytest.approx(3.0)
    assert smoothed[2] == pytest.approx((3.0 + 6.0) / 2)  # an unseen neighbour is left out of the average
    assert np.isnan(smoothed[3])  # a season never observed stays unknown
    np.testing.assert_array_equal(smooth_seasons(means, 1), means)
    with pytest.raises(ValueError, match="odd"):
        smooth_seasons(means, 4)


def _noisy_season(cycles: float, noise: float, period: int = 100, seed: int = 0) -> np.ndarray:
    time = np.arange(int(cycles * period))
    rng = np.random.default_rng(seed)
    return 10 * np.sin(2 * np.pi * time / period) + 0.01 * time + noise * rng.normal(size=time.size)


def test_cross_validation_smooths_a_few_noisy_cycles_and_leaves_exact_ones_alone() -> None:
    widths = [1, 3, 5, 9, 15, 31]
    noisy = _noisy_season(3.0, noise=3.0)
    keys = np.arange(noisy.size) % 100
    assert choose_season_smoothing(noisy, keys, noisy.size, widths, trend=True) > 1
    # a sharp profile observed without noise: any smoothing blurs it
    sharp = np.tile(np.r_[np.zeros(50), 20 * np.ones(50)], 4)
    assert choose_season_smoothing(sharp, np.arange(sharp.size) % 100, sharp.size, widths) == 1
    assert choose_season_smoothing(noisy, keys, noisy.size, [5]) == 5  # one width: no choice to make
    assert choose_season_smoothing(noisy, keys, 150, widths) == 1  # under two cycles: the narrowest


def test_the_smoothing_is_chosen_and_fitted_on_the_training_part_only() -> None:
    series = _noisy_season(4.0, noise=3.0)
    keys = np.arange(series.size) % 100
    split = 300
    other_future = series.copy()
    other_future[split:] = 1e6
    widths = [1, 3, 5, 9, 15]
    first = fit_climatology(series, keys, split, trend=True, smoothing=widths)
    second = fit_climatology(other_future, keys, split, trend=True, smoothing=widths)
    assert first.smoothing == second.smoothing > 1
    np.testing.assert_array_equal(first.season_means, second.season_means)
    assert first.slope == second.slope


def test_a_smoothed_climatology_beats_the_plain_one_on_the_books_synthetic_series() -> None:
    """2.7 training cycles leave 2-3 noisy values per phase: smoothing them is most of the gain."""
    from seqlab.data.synthetic import make_synthetic_series

    series = np.asarray(make_synthetic_series(), dtype=np.float64)
    keys = np.arange(series.size) % 365
    targets = np.arange(1000, series.size)[:, np.newaxis]
    widths = [1, 3, 5, 7, 9, 11, 15, 21, 31]
    plain = series_baselines(series, targets, 1000, keys, 365)
    smoothed = series_baselines(series, targets, 1000, keys, 365, season_smoothing=widths)

    def mae(forecast: np.ndarray) -> float:
        return float(np.mean(np.abs(forecast - series[targets])))

    assert mae(smoothed["climatology_trend"]) < 0.95 * mae(plain["climatology_trend"])
    assert mae(smoothed["climatology_trend_ar"]) < 0.95 * mae(plain["climatology_trend_ar"])
    # the unfitted baselines do not change
    np.testing.assert_array_equal(smoothed["persistence"], plain["persistence"])
