"""Suites and their datasets.

* Ready-made suites built in Python: ``humaneval_suite()`` (and its cases) for the code tier.
  A suite here is a :class:`~benchroute.SuiteSpec` built from a dataset a package ships, so it
  can be run from Python without a YAML file or a copy of the data; ``examples/`` has the same
  suites as YAML for the command line.
* Private holdout sets from production logs (``benchroute dataset``, docs/datasets.md):
  importers (chat JSONL, CSV, trace exports, the gateway's request log), PII scrubbing before
  anything is written, exact and near-duplicate removal, stratified sampling into golden sets,
  labelling, perturbations and contamination probes. Stored versions are read as suite cases
  by :func:`golden_loader` (``dataset: {golden: support, version: 3}``).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._humaneval import humaneval_cases, humaneval_suite

if TYPE_CHECKING:
    from ._contamination import (
        DEFAULT_NGRAM,
        CaseOverlap,
        CaseProbe,
        CompletionProbeReport,
        ContaminationReport,
        CorpusIndex,
        case_text,
        completion_probe,
        ngram_overlap,
        probe_items,
    )
    from ._dedupe import (
        DedupeReport,
        Deduplicated,
        DuplicateCluster,
        ExactDeduper,
        NearDeduper,
        case_digest,
        dedupe_cases,
        normalise_text,
    )
    from ._degrade import AUDIO_KINDS, IMAGE_KINDS, degrade_audio, degrade_image, degraded_case, variant_id
    from ._generate import generate_scenes, generate_speech, generate_tables, markdown_table
    from ._golden import golden_loader, parse_ref, resolve, stored_cases
    from ._holdout import (
        LeakError,
        ScrubPipeline,
        skipped_scrub,
    )
    from ._imports import (
        IMPORT_FORMATS,
        BadRow,
        ImportedCases,
        ImportReport,
        import_file,
        import_gateway,
    )
    from ._label import (
        DEFAULT_ACCEPT_CRITERIA,
        LabelResult,
        label_by_editor,
        label_by_judge,
        label_by_reference,
        label_from_csv,
        model_context,
    )
    from ._media import MediaFile, MediaPart, inspect_attachment, inspect_case, media_parts, render_pdf, sniff
    from ._numbers import gsm8k_cases
    from ._perturb import (
        PERTURBATIONS,
        Change,
        ModelParaphraser,
        NotApplicable,
        Paraphraser,
        Perturbation,
        PerturbReport,
        Target,
        aperturb_cases,
        iter_perturbed,
        perturb_cases,
        register_perturbation,
    )
    from ._sample import (
        Sample,
        SampleReport,
        StratumReport,
        length_bucket,
        stratified_sample,
        stratum_of,
    )
    from ._scrub import (
        SCRUBBER_VERSION,
        CustomRecognizer,
        Leak,
        Scrubber,
        ScrubReport,
        leak_check,
    )

_CONTAMINATION = (
    "DEFAULT_NGRAM",
    "CaseOverlap",
    "CaseProbe",
    "CompletionProbeReport",
    "ContaminationReport",
    "CorpusIndex",
    "case_text",
    "completion_probe",
    "ngram_overlap",
    "probe_items",
)
_GOLDEN = ("golden_loader", "parse_ref", "resolve", "stored_cases")
_LABEL = (
    "DEFAULT_ACCEPT_CRITERIA",
    "LabelResult",
    "label_by_editor",
    "label_by_judge",
    "label_by_reference",
    "label_from_csv",
    "model_context",
)
_IMPORTS = (
    "IMPORT_FORMATS",
    "BadRow",
    "ImportReport",
    "ImportedCases",
    "import_file",
    "import_gateway",
)
_DEDUPE = (
    "DedupeReport",
    "Deduplicated",
    "DuplicateCluster",
    "ExactDeduper",
    "NearDeduper",
    "case_digest",
    "dedupe_cases",
    "normalise_text",
)
_SAMPLE = (
    "Sample",
    "SampleReport",
    "StratumReport",
    "length_bucket",
    "stratified_sample",
    "stratum_of",
)
_PERTURB = (
    "PERTURBATIONS",
    "Change",
    "ModelParaphraser",
    "NotApplicable",
    "Paraphraser",
    "PerturbReport",
    "Perturbation",
    "Target",
    "aperturb_cases",
    "iter_perturbed",
    "perturb_cases",
    "register_perturbation",
)
_HOLDOUT = (
    "LeakError",
    "ScrubPipeline",
    "skipped_scrub",
)
_DEGRADE = ("AUDIO_KINDS", "IMAGE_KINDS", "degrade_audio", "degrade_image", "degraded_case", "variant_id")
_MEDIA = (
    "MediaFile",
    "MediaPart",
    "inspect_attachment",
    "inspect_case",
    "media_parts",
    "render_pdf",
    "sniff",
)
_SCRUB = (
    "SCRUBBER_VERSION",
    "CustomRecognizer",
    "Leak",
    "ScrubReport",
    "Scrubber",
    "leak_check",
)
__getattr__ = lazy_attributes(
    __name__,
    {
        **dict.fromkeys(_SCRUB, "_scrub"),
        **dict.fromkeys(_MEDIA, "_media"),
        "generate_tables": "_generate",
        "generate_scenes": "_generate",
        "generate_speech": "_generate",
        **dict.fromkeys(_DEGRADE, "_degrade"),
        "markdown_table": "_generate",
        **dict.fromkeys(_HOLDOUT, "_holdout"),
        **dict.fromkeys(_SAMPLE, "_sample"),
        **dict.fromkeys(_DEDUPE, "_dedupe"),
        **dict.fromkeys(_IMPORTS, "_imports"),
        **dict.fromkeys(_CONTAMINATION, "_contamination"),
        **dict.fromkeys(_GOLDEN, "_golden"),
        **dict.fromkeys(_LABEL, "_label"),
        **dict.fromkeys(_PERTURB, "_perturb"),
        "gsm8k_cases": "_numbers",
    },
)

__all__ = [
    "AUDIO_KINDS",
    "DEFAULT_ACCEPT_CRITERIA",
    "DEFAULT_NGRAM",
    "IMAGE_KINDS",
    "IMPORT_FORMATS",
    "PERTURBATIONS",
    "SCRUBBER_VERSION",
    "BadRow",
    "CaseOverlap",
    "CaseProbe",
    "Change",
    "CompletionProbeReport",
    "ContaminationReport",
    "CorpusIndex",
    "CustomRecognizer",
    "DedupeReport",
    "Deduplicated",
    "DuplicateCluster",
    "ExactDeduper",
    "ImportReport",
    "ImportedCases",
    "LabelResult",
    "Leak",
    "LeakError",
    "MediaFile",
    "MediaPart",
    "ModelParaphraser",
    "NearDeduper",
    "NotApplicable",
    "Paraphraser",
    "PerturbReport",
    "Perturbation",
    "Sample",
    "SampleReport",
    "ScrubPipeline",
    "ScrubReport",
    "Scrubber",
    "StratumReport",
    "Target",
    "aperturb_cases",
    "case_digest",
    "case_text",
    "completion_probe",
    "dedupe_cases",
    "degrade_audio",
    "degrade_image",
    "degraded_case",
    "generate_scenes",
    "generate_speech",
    "generate_tables",
    "golden_loader",
    "gsm8k_cases",
    "humaneval_cases",
    "humaneval_suite",
    "import_file",
    "import_gateway",
    "inspect_attachment",
    "inspect_case",
    "iter_perturbed",
    "label_by_editor",
    "label_by_judge",
    "label_by_reference",
    "label_from_csv",
    "leak_check",
    "length_bucket",
    "markdown_table",
    "media_parts",
    "model_context",
    "ngram_overlap",
    "normalise_text",
    "parse_ref",
    "perturb_cases",
    "probe_items",
    "register_perturbation",
    "render_pdf",
    "resolve",
    "skipped_scrub",
    "sniff",
    "stored_cases",
    "stratified_sample",
    "stratum_of",
    "variant_id",
]
