"""Dispatch inputs: pvlib's PVWatts chain sized as documented, tariff and
carbon tables, overridable series."""

import numpy as np
import pvlib
import pytest

from greenai.dispatch import inputs as dispatch_inputs


def test_thesis_gpu_table_is_table_5_1_with_energy_per_job():
    table = dispatch_inputs.thesis_gpu_table()
    assert table["power_w"].tolist() == [100, 125, 150, 175, 200, 225, 250]
    assert table["duration_h"].tolist() == [32, 28, 26, 25, 24, 23, 22]
    np.testing.assert_allclose(table["energy_per_job_wh"], table["power_w"] * table["duration_h"])
    np.testing.assert_allclose(table["jobs_per_hour"], 1 / table["duration_h"])
    assert table.drop(columns="jobs_per_hour").equals(dispatch_inputs.thesis_gpu_profile().table())  # the model's own levels
    # Lower limits are slower but use less energy per job in this profile.
    assert table["energy_per_job_wh"].is_monotonic_increasing


@pytest.fixture(scope="module")
def solar():
    return dispatch_inputs.solar_ac_w()


def test_array_size_reproduces_thesis_dc_at_its_noon_irradiance():
    # The documented 3 kW DC under PVWatts' default losses turns the thesis'
    # noon plane-of-array irradiance and cell temperature into its DC output.
    noon = dispatch_inputs.THESIS_FIG_5_4_NOON
    array = dispatch_inputs.PvArray()
    dc = pvlib.pvsystem.pvwatts_dc(noon["poa_w_m2"], noon["temp_cell_c"], array.pdc0_w, array.gamma_pdc_per_c)
    dc *= 1 - pvlib.pvsystem.pvwatts_losses() / 100
    assert dc == pytest.approx(noon["dc_w"], rel=0.02)


def test_first_day_within_documented_sizing(solar):
    day = solar["ac_w"].iloc[:24]
    thesis_hours = sorted(dispatch_inputs.THESIS_FIG_5_4_AC_W)
    # Producing hours are the thesis' (9-16 local time); night is zero.
    assert (day.iloc[thesis_hours] > 0).all()
    assert (day.drop(index=thesis_hours) == 0).all()
    # Other weather, same array: peak and daily energy within a factor 2 of the excerpt.
    thesis = np.array(list(dispatch_inputs.THESIS_FIG_5_4_AC_W.values()))
    assert 0.5 * thesis.max() <= day.max() <= 2 * thesis.max()
    assert 0.5 * thesis.sum() <= day.sum() <= 2 * thesis.sum()
    # Never above the inverter's AC nameplate.
    array = dispatch_inputs.PvArray()
    assert solar["ac_w"].max() <= array.pdc0_w / array.dc_ac_ratio + 1e-6


def test_year_of_solar_is_plausible_for_turin(solar):
    assert len(solar) == dispatch_inputs.HOURS_PER_YEAR
    specific_yield = solar["ac_w"].sum() / dispatch_inputs.PvArray().pdc0_w  # kWh per kWp
    assert 1000 <= specific_yield <= 1600
    summer = solar["ac_w"].iloc[24 * 172:24 * 173].sum()
    winter = solar["ac_w"].iloc[:24].sum()
    assert summer > winter


def test_tariff_table_5_3():
    tariff = dispatch_inputs.Tariff()
    price = tariff.buy_eur_per_kwh(np.arange(24))
    assert price[8] == 0.45 and price[19] == 0.45 and price[20] == 0.35 and price[22] == 0.35
    assert price[23] == 0.25 and price[0] == 0.25 and price[7] == 0.25
    assert tariff.table()["sell_eur_per_kwh"].eq(0.30).all()


def test_tariff_bands_must_cover_the_day():
    with pytest.raises(dispatch_inputs.DispatchInputError, match="exactly once"):
        dispatch_inputs.Tariff(bands=(dispatch_inputs.TariffBand("A", 0, 12, 0.3),))


def test_carbon_default_repeats_daily():
    c = dispatch_inputs.carbon_intensity_g_per_kwh(np.arange(48))
    assert np.array_equal(c[:24], c[24:]) and (c > 0).all()


def test_gpu_profile_validation():
    with pytest.raises(dispatch_inputs.DispatchInputError, match="strictly increasing"):
        dispatch_inputs.GpuProfile((200, 100), (20, 30))
    with pytest.raises(dispatch_inputs.DispatchInputError, match="positive"):
        dispatch_inputs.GpuProfile((100, 200), (0, 30))
