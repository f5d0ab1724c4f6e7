"""pipeline.degrade_kernels: the Real-ESRGAN blur kernels."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from pipeline import degrade_kernels as dk

# --- kernels -------------------------------------------------------------------------------------


def test_isotropic_gaussian_matches_opencv():
    ours = dk.gaussian_kernel(21, 2.3, 2.3)
    column = cv2.getGaussianKernel(21, 2.3, cv2.CV_64F)
    np.testing.assert_allclose(ours, column @ column.T, atol=1e-12)


def test_anisotropic_gaussian_covariance_and_rotation():
    sigma_x, sigma_y, angle = 2.0, 1.0, 0.6
    kernel = dk.gaussian_kernel(21, sigma_x, sigma_y, angle)
    yy, xx = np.mgrid[-10:11, -10:11]
    measured = np.array(
        [[np.sum(kernel * xx * xx), np.sum(kernel * xx * yy)], [np.sum(kernel * xx * yy), np.sum(kernel * yy * yy)]]
    )
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    np.testing.assert_allclose(measured, rotation @ np.diag([sigma_x**2, sigma_y**2]) @ rotation.T, atol=1e-3)
    np.testing.assert_allclose(dk.gaussian_kernel(21, sigma_x, sigma_y, angle + math.pi), kernel, atol=1e-12)
    np.testing.assert_allclose(
        dk.gaussian_kernel(21, 1.0, 2.0, 0.0), dk.gaussian_kernel(21, 2.0, 1.0, 0.0).T, atol=1e-12
    )
    np.testing.assert_allclose(
        dk.gaussian_kernel(21, sigma_x, sigma_y, math.pi / 2), dk.gaussian_kernel(21, sigma_y, sigma_x, 0.0), atol=1e-12
    )


KERNEL_BUILDERS = {
    "gaussian": lambda size, sx, sy, angle: dk.gaussian_kernel(size, sx, sy, angle),
    "generalized": lambda size, sx, sy, angle: dk.generalized_gaussian_kernel(size, sx, sy, angle, 0.7),
    "plateau": lambda size, sx, sy, angle: dk.plateau_kernel(size, sx, sy, angle, 1.6),
}


@pytest.mark.parametrize("builder", sorted(KERNEL_BUILDERS))
def test_kernels_are_normalised_and_symmetric(builder):
    build = KERNEL_BUILDERS[builder]
    iso = build(15, 1.7, 1.7, 0.0)
    aniso = build(15, 2.5, 0.8, 1.1)
    for kernel in (iso, aniso):
        assert kernel.dtype == np.float64 and abs(kernel.sum() - 1.0) < 1e-12 and kernel.min() > 0
        np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-15)  # point symmetric
        assert kernel[7, 7] == kernel.max()
    for mirrored in (iso[::-1, :], iso[:, ::-1], iso.T):
        np.testing.assert_allclose(iso, mirrored, atol=1e-15)
    assert not np.allclose(aniso, aniso.T, atol=1e-4)
    assert np.all(np.diff(iso[7, 7:]) < 0)  # decreasing away from the centre


def test_generalized_and_plateau_shapes():
    np.testing.assert_allclose(
        dk.generalized_gaussian_kernel(13, 1.5, 1.5, 0.0, 1.0), dk.gaussian_kernel(13, 1.5, 1.5), atol=1e-15
    )
    flat = dk.generalized_gaussian_kernel(21, 3.0, 3.0, 0.0, 4.0)
    peaky = dk.generalized_gaussian_kernel(21, 3.0, 3.0, 0.0, 0.5)
    assert flat[10, 10] / flat[10, 12] < peaky[10, 10] / peaky[10, 12]  # larger beta = flatter top
    plateau = dk.plateau_kernel(21, 2.0, 2.0, 0.0, 1.0)
    np.testing.assert_allclose(plateau[10, 10] / plateau[10, 12], 2.0, rtol=1e-12)  # 1 / (1 + (2/2)^2)


def test_bessel_j1_known_values():
    values = dk.bessel_j1(np.array([0.0, 1.0, 3.8317059702075125, 10.0]))
    np.testing.assert_allclose(values, [0.0, 0.44005058574493355, 0.0, 0.04347274616886144], atol=1e-12)


def test_bessel_j1_matches_scipy_over_the_kernel_domain():
    from scipy import special  # a dependency: the reference J1

    radii = np.linspace(0.0, math.pi * 15 * math.sqrt(2), 2001)  # beyond the largest omega_c * radius of a 21x21 kernel
    np.testing.assert_allclose(dk.bessel_j1(radii), special.j1(radii), atol=1e-13)


def test_sinc_kernel_is_a_circular_lowpass():
    kernel = dk.sinc_kernel(21, math.pi / 2)
    assert abs(kernel.sum() - 1.0) < 1e-12
    for mirrored in (kernel[::-1, :], kernel[:, ::-1], kernel.T):
        np.testing.assert_allclose(kernel, mirrored, atol=1e-15)
    response = np.abs(np.fft.fft2(kernel, (128, 128)))
    freqs = np.fft.fftfreq(128) * 2 * math.pi
    radius = np.hypot(*np.meshgrid(freqs, freqs))
    assert abs(response[0, 0] - 1.0) < 1e-12
    assert response[radius < 0.3 * math.pi].min() > 0.8
    assert response[radius > 0.7 * math.pi].max() < 0.1


@pytest.mark.parametrize(
    "call",
    [
        lambda: dk.gaussian_kernel(8, 1.0, 1.0),
        lambda: dk.gaussian_kernel(7, 0.0, 1.0),
        lambda: dk.sinc_kernel(7, 4.0),
        lambda: dk.sample_kernel_size(np.random.default_rng(0), 5),
    ],
)
def test_kernel_argument_errors(call):
    with pytest.raises(ValueError):
        call()
