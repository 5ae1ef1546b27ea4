"""course.standins: shapes, determinism, and class structure a model can learn."""

import numpy as np
import pytest

from course import standins


@pytest.fixture(scope="module")
def digits():
    return standins.mnist()


@pytest.fixture(scope="module")
def clothes():
    return standins.fashion_mnist()


@pytest.mark.parametrize("name", ["digits", "clothes"])
def test_labelled_stand_ins_have_mnist_shapes_and_balanced_labels(name, request):
    (x_train, y_train), (x_test, y_test) = request.getfixturevalue(name)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_stand_ins_are_deterministic(digits):
    (x_again, y_again), _ = standins.mnist()
    np.testing.assert_array_equal(x_again, digits[0][0])
    np.testing.assert_array_equal(y_again, digits[0][1])


@pytest.mark.parametrize("name", ["digits", "clothes"])
def test_classes_are_told_apart_by_their_mean_images(name, request):
    """A nearest-class-mean classifier fitted on training images labels test images well."""
    (x_train, y_train), (x_test, y_test) = request.getfixturevalue(name)
    train = x_train.reshape(len(x_train), -1).astype(np.float32) / 255
    test = x_test[:2000].reshape(2000, -1).astype(np.float32) / 255
    means = np.stack([train[y_train == k].mean(axis=0) for k in range(10)])
    predicted = ((test[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.mean(predicted == y_test[:2000]) > 0.6


def test_images_vary_within_a_class(digits):
    (x_train, y_train), _ = digits
    ones = x_train[y_train == 1][:200].reshape(200, -1).astype(np.float32)
    assert ones.std(axis=0).max() > 50  # shifted, slanted, thicker or thinner


def test_frey_stand_in_faces_vary_smoothly():
    faces = standins.frey_faces()
    assert faces.shape == (1965, 28, 20) and faces.dtype == np.uint8
    flat = faces.reshape(len(faces), -1).astype(np.float32)
    # Two factors (gaze, smile) explain most of the variation: a 2-D manifold to learn.
    centred = flat - flat.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    explained = (singular[:4] ** 2).sum() / (singular**2).sum()
    assert explained > 0.5


@pytest.mark.slow
def test_a_conditional_vae_trained_on_stand_in_digits_draws_the_digit_asked_for(digits):
    """The notebook-08 CVAE, briefly trained, makes samples nearest their own class mean."""
    import keras
    from keras import layers

    from autograder.reference import nb08 as reference

    keras.utils.set_random_seed(0)
    seed_generator = keras.random.SeedGenerator(0)
    (x_train, y_train), _ = digits
    x = x_train[:12000].reshape(-1, 784).astype("float32") / 255
    y = keras.utils.to_categorical(y_train[:12000], 10)

    image, label = keras.Input((784,)), keras.Input((10,))
    h = layers.Dense(256, activation="relu")(layers.Concatenate()([image, label]))
    t_mean, t_log_var = layers.Dense(2)(h), layers.Dense(2)(h)
    t = layers.Lambda(lambda a: reference.sampling(a, seed_generator))([t_mean, t_log_var])
    decoder = keras.Sequential([keras.Input((12,)), layers.Dense(256, activation="relu"),
                                layers.Dense(784, activation="sigmoid")])  # fmt: skip
    decoded = decoder(layers.Concatenate()([t, label]))

    class Loss(layers.Layer):
        def call(self, x, x_decoded_mean, t_mean, t_log_var):
            p = keras.ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)
            log_likelihood = keras.ops.sum(x * keras.ops.log(p) + (1 - x) * keras.ops.log(1 - p), 1)
            kl = 0.5 * keras.ops.sum(t_mean**2 + keras.ops.exp(t_log_var) - 1 - t_log_var, 1)
            self.add_loss(keras.ops.mean(kl - log_likelihood))
            return x_decoded_mean

    cvae = keras.Model([image, label], Loss()(image, decoded, t_mean, t_log_var))
    cvae.compile(optimizer=keras.optimizers.RMSprop(1e-3))
    cvae.fit([x, y], epochs=3, batch_size=100, verbose=0)

    labels = np.repeat(np.arange(10), 50)
    codes = np.random.default_rng(0).normal(size=(500, 2)).astype("float32")
    samples = decoder.predict(np.concatenate([codes, np.eye(10)[labels]], 1).astype("float32"),
                              verbose=0)  # fmt: skip
    means = np.stack([x[y_train[:12000] == k].mean(axis=0) for k in range(10)])
    nearest = ((samples[:, None] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert np.mean(nearest == labels) > 0.6
