"""
Tagging documents with a text pipeline
======================================

A document can carry several tags at once, and annotators rarely check every tag on every
document: some tags were only introduced later, some annotators only answered some questions.
This example chains :class:`~sklearn.feature_extraction.text.TfidfVectorizer` and
:class:`~sklearn_mtl.MaskedMultiTaskClassifier` in one pipeline: the vectorizer's sparse matrix
goes straight into the network, and each tag is a binary task whose unknown labels are missing.

The documents are generated from small word lists, so that nothing is downloaded.
"""

# %%
# Synthetic documents
# -------------------
#
# Each document mixes one to three topics out of five, with one to three words drawn from each
# topic's list, some neutral filler, a tone (praise or complaint), and a few distracting words from
# random topics and tones. Its tags are the topics it is
# about, plus whether its tone is positive: six binary tasks. Every topic tag is missing with
# probability 0.3; the ``positive`` tag was only collected for one document in five.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_mtl import MaskedMultiTaskClassifier
from sklearn_mtl.metrics import masked_roc_auc_score

torch.set_num_threads(1)  # small networks are fastest, and most predictable, on one thread

TOPICS = {
    "sports": "match goal team coach season league player score stadium referee transfer cup",
    "politics": "election vote parliament minister policy campaign senate law debate party reform tax",
    "science": "experiment theory physics molecule data research laboratory telescope cell study hypothesis",
    "health": "doctor patient hospital vaccine diet symptom treatment nurse clinic therapy virus sleep",
    "finance": "market stock bank interest inflation investor loan budget profit shares currency fund",
}
TONES = {
    True: "great excellent wonderful love impressive brilliant happy superb",
    False: "terrible awful disappointing hate poor boring sad worst",
}
FILLER = "the a of and to in is was on for with it this that at by from as an be have today report new".split()


def make_documents(n_documents, rng):
    topic_names = list(TOPICS)
    documents, tags = [], []
    for _ in range(n_documents):
        present = rng.choice(len(topic_names), size=rng.randint(1, 4), replace=False)
        positive = bool(rng.rand() < 0.5)
        words = list(rng.choice(FILLER, size=12))
        for topic in present:
            words += list(rng.choice(TOPICS[topic_names[topic]].split(), size=rng.randint(1, 4)))
        words += list(rng.choice(TONES[positive].split(), size=rng.randint(1, 3)))
        # cross-talk: words from random topics and one of either tone, so no single word decides a tag
        for other in rng.randint(len(topic_names), size=2):
            words.append(rng.choice(TOPICS[topic_names[other]].split()))
        words.append(rng.choice(TONES[bool(rng.rand() < 0.5)].split()))
        rng.shuffle(words)
        documents.append(" ".join(words))
        tags.append([float(topic in present) for topic in range(len(topic_names))] + [float(positive)])
    return documents, pd.DataFrame(tags, columns=[*topic_names, "positive"])


rng = np.random.RandomState(0)
documents, tags = make_documents(3000, rng)
observed_rate = {"positive": 0.2} | {topic: 0.7 for topic in TOPICS}
for tag, rate in observed_rate.items():
    tags.loc[rng.rand(len(tags)) >= rate, tag] = np.nan

print(documents[0])
print(tags.head())
print("observed labels per tag:", tags.notna().sum().to_dict())

# %%
# The pipeline
# ------------
#
# The vectorizer turns each document into a sparse TF-IDF row (a SciPy CSR matrix); the
# classifier accepts it as is. ``y`` is a DataFrame, so the fitted classifier knows the tasks by
# name (``task_names_``). ``early_stopping=True`` holds out 10% of the training documents and stops
# when the mean masked ROC-AUC of the tags on them stops improving (with about 2000 labels per tag,
# ``early_stopping="auto"`` would not hold rows out; see the user guide's "Defaults").

docs_train, docs_test, y_train, y_test = train_test_split(documents, tags, test_size=0.3, random_state=0)
pipeline = make_pipeline(
    TfidfVectorizer(sublinear_tf=True),
    MaskedMultiTaskClassifier(hidden_layer_sizes=(32,), dropout=0.2, early_stopping=True, random_state=0),
)
pipeline.fit(docs_train, y_train)
classifier = pipeline[-1]
print("features:", classifier.n_features_in_, " tasks:", list(classifier.task_names_))

# %%
# How well each tag is predicted
# ------------------------------
#
# :func:`~sklearn_mtl.metrics.masked_roc_auc_score` scores every tag on the test documents whose
# tag is known (``average=None`` gives one score per tag).

auc = masked_roc_auc_score(y_test, pipeline.predict_proba(docs_test), average=None)
fig, ax = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
bars = ax.barh(classifier.task_names_, auc, color="tab:blue")
ax.bar_label(bars, fmt="%.3f", padding=3)
ax.set(xlim=(0.5, 1.05), xlabel="test ROC-AUC on known labels", title="One network, six tags")
ax.invert_yaxis()

# %%
# The ``positive`` tag was known for a fifth of the documents only, yet it is learned from the
# tone words as well as the others: the masked loss used each of its labels, and the rows without
# it still trained the topic tags.
#
# Tagging new documents
# ---------------------
#
# ``predict`` returns one column per tag; ``predict_proba`` one array of class probabilities per
# tag.

new_documents = [
    "the team won the cup after a brilliant season and the coach was happy",
    "parliament will vote on the tax reform, a terrible law for every bank and investor",
]
predicted = pd.DataFrame(pipeline.predict(new_documents), columns=classifier.task_names_, index=["doc 1", "doc 2"])
print(predicted)
