"""Editors' own actions: train from verified clips, register versions, apply to the archive, evaluate.

Training data are the clips an editor verified or relabelled (``review_status = verified`` with an
``action``): a clip whose action is one of the wanted labels is an example of it, any other verified
clip is an example of the negative class ``"(other)"``, so the model can also say "none of these".

Two kinds of model (``ActionClassifier.Kind``):

* **head** — a linear probe or small MLP (``ml.heads``) on the clip embeddings indexing already
  stored (I3D 1024-d or SlowFast 2304-d). Each verified clip gives its stored clip embedding and,
  when ``HL_HEAD_WINDOWS`` is on and the analysis artifact is still in ``HL_WORK_DIR``, the
  embeddings of the analysis windows centred inside it (more examples from the same clips). The
  metrics are cross-validated with the clips held out whole, on clip embeddings only. Trains in
  seconds; applying it re-scores every stored clip embedding of the parent model, no video decoded.
* **crnn** / **two_stream** — a CRNN (``ml.crnn``: ImageNet MobileNetV2 per frame + GRU), optionally
  with an optical-flow stream, fine-tuned on ``HL_CRNN_FRAMES`` frames per clip. Minutes on the CPU;
  its metrics are on the training clips. Applying it decodes clips again, one game per Celery task.

Every trained model is registered (``ActionClassifier``: version, classes, parent weights, metrics,
training clips, weights file under ``HL_MODELS_DIR`` with its sha256) and becomes the active version
of its action set; :func:`rollback` re-activates the previous one. Search matches the labels that the
active version gave with probability at least ``HL_LEARNED_MIN_PROBABILITY`` (``LearnedAction`` rows).

One module per job: :mod:`~highlights.learning.taxonomy` (labels), :mod:`~highlights.learning.datasets`
(examples and inputs), :mod:`~highlights.learning.params` (typed hyperparameters),
:mod:`~highlights.learning.training`, :mod:`~highlights.learning.registry`,
:mod:`~highlights.learning.networks` (loading registered networks), :mod:`~highlights.learning.applying`,
:mod:`~highlights.learning.evaluation` and :mod:`~highlights.learning.jobs` (training jobs run by a
worker). This package is domain code: it imports no Celery task and enqueues nothing; functions whose
effect calls for more work return it (:class:`Activation`, :class:`Labelling`) for the caller to dispatch.
"""

from highlights.learning.applying import apply_active_heads, apply_head, label_game_with_crnn, request_crnn_labelling
from highlights.learning.datasets import Examples, verified_examples
from highlights.learning.errors import LearningError
from highlights.learning.evaluation import ManifestRow, evaluate_manifest, read_manifest, stored_evaluation
from highlights.learning.jobs import request_training, run_training_job
from highlights.learning.networks import load_network, unload_network
from highlights.learning.params import CRNNParams, HeadParams
from highlights.learning.registry import Activation, Labelling, activate, register, rollback
from highlights.learning.taxonomy import BACKGROUND, action_set_key, define_action
from highlights.learning.training import train_model

__all__ = [
    "BACKGROUND",
    "Activation",
    "CRNNParams",
    "Examples",
    "HeadParams",
    "Labelling",
    "LearningError",
    "ManifestRow",
    "action_set_key",
    "activate",
    "apply_active_heads",
    "apply_head",
    "define_action",
    "evaluate_manifest",
    "label_game_with_crnn",
    "load_network",
    "read_manifest",
    "register",
    "request_crnn_labelling",
    "request_training",
    "rollback",
    "run_training_job",
    "stored_evaluation",
    "train_model",
    "unload_network",
    "verified_examples",
]
