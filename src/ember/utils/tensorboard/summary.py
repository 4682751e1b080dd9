"""Summary protocol buffers for TensorBoard, built from tensors and arrays.

Each function returns a ``Summary`` (tensorboard's own protobuf classes, from the
``tensorboard`` package) laid out as torch.utils.tensorboard lays it out, so TensorBoard's
plugins (scalars, histograms, images, text, hparams, PR curves, audio, custom scalars,
meshes) read ember's event files exactly as PyTorch's.
"""

from __future__ import annotations

import io
import json

import numpy as np
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

from ._convert import convert_to_hwc, make_np, prepare_video

__all__ = [
    "audio", "custom_scalars", "histogram", "histogram_raw", "hparams", "image",
    "image_boxes", "make_histogram", "mesh", "pr_curve", "pr_curve_raw", "scalar",
    "tensor_proto", "text", "video",
]


def _shape(*sizes):
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(s)) for s in sizes])


def _plugin(name, content=b""):
    return SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=name,
                                                                  content=content))


def scalar(name, value, collections=None, new_style=False, double_precision=False):
    """One number: a ``simple_value``, or with ``new_style`` a scalars-plugin tensor."""
    array = make_np(value).squeeze()
    if array.ndim != 0:
        raise AssertionError(
            f"Tensor should contain one element (0 dimensions). Was given size: {array.size} "
            f"and {array.ndim} dimensions.")
    number = float(array)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=number)])
    proto = (TensorProto(double_val=[number], dtype="DT_DOUBLE") if double_precision
             else TensorProto(float_val=[number], dtype="DT_FLOAT"))
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=_plugin("scalars"))])


# dtype -> (TensorProto dtype, field, values as that field takes them)
_TENSOR_FIELDS = {
    "float16": ("DT_HALF", "half_val", lambda a: a.view(np.uint16).ravel().tolist()),
    "float32": ("DT_FLOAT", "float_val", lambda a: a.ravel().tolist()),
    "float64": ("DT_DOUBLE", "double_val", lambda a: a.ravel().tolist()),
    "int8": ("DT_INT8", "int_val", lambda a: a.ravel().tolist()),
    "uint8": ("DT_UINT8", "int_val", lambda a: a.ravel().tolist()),
    "int16": ("DT_INT16", "int_val", lambda a: a.ravel().tolist()),
    "int32": ("DT_INT32", "int_val", lambda a: a.ravel().tolist()),
    "int64": ("DT_INT64", "int64_val", lambda a: a.ravel().tolist()),
    "bool": ("DT_BOOL", "bool_val", lambda a: a.ravel().tolist()),
    "complex64": ("DT_COMPLEX64", "scomplex_val",
                  lambda a: a.ravel().view(np.float32).tolist()),
    "complex128": ("DT_COMPLEX128", "dcomplex_val",
                   lambda a: a.ravel().view(np.float64).tolist()),
}


def tensor_proto(tag, tensor):
    """A whole tensor, for the tensor plugin."""
    array = make_np(tensor)
    if array.nbytes >= 1 << 31:
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    field = _TENSOR_FIELDS.get(array.dtype.name)
    if field is None:
        raise ValueError(f"{tag} has unsupported tensor dtype {getattr(tensor, 'dtype', None)}")
    dtype, name, values = field
    proto = TensorProto(dtype=dtype, tensor_shape=_shape(*array.shape),
                        **{name: values(np.ascontiguousarray(array))})
    return Summary(value=[Summary.Value(tag=tag, metadata=_plugin("tensor"), tensor=proto)])


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    """A histogram from precomputed statistics and buckets."""
    histo = HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                           bucket_limit=bucket_limits, bucket=bucket_counts)
    return Summary(value=[Summary.Value(tag=name, histo=histo)])


def histogram(name, values, bins, max_bins=None):
    return Summary(value=[Summary.Value(
        tag=name, histo=make_histogram(make_np(values).astype(float), bins, max_bins))])


def make_histogram(values, bins, max_bins=None):
    """Bucket ``values`` (np.histogram's ``bins``), merge down to ``max_bins`` buckets, and
    trim the empty buckets at both ends (keeping one empty bucket before the first full one,
    as TensorBoard draws the left edge from it)."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        group = len(counts) // max_bins
        if len(counts) % group:
            counts = np.pad(counts, (0, group - len(counts) % group))
        counts = counts.reshape(-1, group).sum(axis=-1)
        limits = np.concatenate([limits[:-1:group], limits[-1:]])
    full = np.cumsum(counts > 0)
    start, end = np.searchsorted(full, [0, full[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return HistogramProto(min=values.min(), max=values.max(), num=len(values),
                          sum=values.sum(), sum_squares=values.dot(values),
                          bucket_limit=limits.tolist(), bucket=counts.tolist())


def _scale_factor(array):
    """Float images in [0, 1] are scaled to bytes; uint8 images are already bytes."""
    return 1 if array.dtype == np.uint8 else 255


def _png(hwc, rescale=1, boxes=None, labels=None):
    from PIL import Image

    height, width, channels = hwc.shape
    picture = Image.fromarray(hwc)
    if boxes is not None:
        picture = _draw_boxes(picture, boxes, labels)
    picture = picture.resize((int(width * rescale), int(height * rescale)),
                             Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return Summary.Image(height=height, width=width, colorspace=channels,
                         encoded_image_string=buffer.getvalue())


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    """An image (or a grid of images for N-first formats) as PNG."""
    hwc = convert_to_hwc(make_np(tensor), dataformats)
    scaled = (hwc.astype(np.float32) * _scale_factor(hwc)).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=_png(scaled, rescale=rescale))])


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    """An image with red boxes (x1, y1, x2, y2 per row) and optional labels drawn on it."""
    hwc = convert_to_hwc(make_np(tensor_image), dataformats)
    scaled = (hwc.astype(np.float32) * _scale_factor(hwc)).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=_png(
        scaled, rescale=rescale, boxes=make_np(tensor_boxes), labels=labels))])


def _draw_boxes(picture, boxes, labels):
    """Red 2-pixel rectangles; a label sits in a red band above each box's bottom edge."""
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default()
    for index, (left, top, right, bottom) in enumerate(boxes):
        draw.line([(left, top), (left, bottom), (right, bottom), (right, top), (left, top)],
                  width=2, fill="Red")
        label = None if labels is None else labels[index]
        if label:
            box_left, box_top, box_right, box_bottom = font.getbbox(label)
            width, height = box_right - box_left, box_bottom - box_top
            margin = np.ceil(0.05 * height)
            draw.rectangle([(left, bottom - height - 2 * margin), (left + width, bottom)],
                           fill="Red")
            draw.text((left + margin, bottom - height - margin), label, fill="black",
                      font=font)
    return picture


def video(tag, tensor, fps=4):
    """A (N, T, C, H, W) video as an animated GIF (needs moviepy, as PyTorch's)."""
    frames = prepare_video(make_np(tensor))
    scaled = (frames.astype(np.float32) * _scale_factor(frames)).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=_gif(scaled, fps))])


def _gif(frames, fps):
    try:
        import moviepy  # noqa: F401
    except ImportError:
        raise ImportError("add_video needs package moviepy") from None
    import tempfile

    try:
        from moviepy import editor as mpy
    except ImportError:  # moviepy 2 has no editor module
        import moviepy as mpy
    clip = mpy.ImageSequenceClip(list(frames), fps=fps)
    with tempfile.NamedTemporaryFile(suffix=".gif") as handle:
        clip.write_gif(handle.name, logger=None)
        handle.seek(0)
        encoded = handle.read()
    _, height, width, channels = frames.shape
    return Summary.Image(height=height, width=width, colorspace=channels,
                         encoded_image_string=encoded)


def audio(tag, tensor, sample_rate=44100):
    """A mono clip in [-1, 1] as 16-bit WAV."""
    import wave

    samples = make_np(tensor).squeeze()
    if abs(samples).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        samples = samples.clip(-1, 1)
    if samples.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    pcm = (samples * np.iinfo(np.int16).max).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    clip = Summary.Audio(sample_rate=sample_rate, num_channels=1,
                         length_frames=pcm.shape[-1],
                         encoded_audio_string=buffer.getvalue(), content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=clip)])


def text(tag, text):
    """Markdown text for the text plugin."""
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    proto = TensorProto(dtype="DT_STRING", string_val=[text.encode("utf_8")],
                        tensor_shape=_shape(1))
    return Summary(value=[Summary.Value(
        tag=tag + "/text_summary", tensor=proto,
        metadata=_plugin("text", TextPluginData(version=0).SerializeToString()))])


def custom_scalars(layout):
    """The custom-scalars dashboard layout: {category: {title: [kind, tags]}}, kind
    'Multiline' (any tags) or 'Margin' (value, lower, upper)."""
    from tensorboard.plugins.custom_scalar import layout_pb2

    categories = []
    for category, charts in layout.items():
        protos = []
        for title, (kind, tags) in charts.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                series = layout_pb2.MarginChartContent.Series(value=tags[0], lower=tags[1],
                                                              upper=tags[2])
                protos.append(layout_pb2.Chart(
                    title=title, margin=layout_pb2.MarginChartContent(series=[series])))
            else:
                protos.append(layout_pb2.Chart(
                    title=title, multiline=layout_pb2.MultilineChartContent(tag=tags)))
        categories.append(layout_pb2.Category(title=category, chart=protos))
    proto = TensorProto(dtype="DT_STRING", tensor_shape=TensorShapeProto(),
                        string_val=[layout_pb2.Layout(category=categories).SerializeToString()])
    return Summary(value=[Summary.Value(tag="custom_scalars__config__", tensor=proto,
                                        metadata=_plugin("custom_scalars"))])


def _pr_summary(tag, data, num_thresholds):
    from tensorboard.plugins.pr_curve.plugin_data_pb2 import PrCurvePluginData

    content = PrCurvePluginData(version=0, num_thresholds=num_thresholds).SerializeToString()
    proto = TensorProto(dtype="DT_FLOAT", float_val=data.reshape(-1).tolist(),
                        tensor_shape=_shape(*data.shape))
    return Summary(value=[Summary.Value(tag=tag, tensor=proto,
                                        metadata=_plugin("pr_curves", content))])


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    """A precision-recall curve from precomputed counts (at most 127 thresholds)."""
    return _pr_summary(tag, np.stack((tp, fp, tn, fn, precision, recall)),
                       min(num_thresholds, 127))


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    """A precision-recall curve of probabilities against 0/1 labels."""
    num_thresholds = min(num_thresholds, 127)
    return _pr_summary(tag, _pr_counts(labels, predictions, num_thresholds, weights),
                       num_thresholds)


def _pr_counts(labels, predictions, num_thresholds, weights=None):
    """tp, fp, tn, fn, precision, recall at ``num_thresholds`` evenly spaced thresholds."""
    weights = 1.0 if weights is None else weights
    buckets = np.int32(np.floor(predictions * (num_thresholds - 1)))
    positive = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=positive * weights)
    fp_buckets, _ = np.histogram(buckets, bins=num_thresholds, range=span,
                                 weights=(1.0 - positive) * weights)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn, fn = fp[0] - fp, tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The three hparams-plugin summaries: experiment, session start, session end."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    hparam_domain_discrete = hparam_domain_discrete or {}
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError(
            "parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for key, domain in hparam_domain_discrete.items():
        if (key not in hparam_dict or not isinstance(domain, list)
                or not all(isinstance(d, type(hparam_dict[key])) for d in domain)):
            raise TypeError(f"parameter: hparam_domain_discrete[{key}] should be a list of "
                            f"same type as hparam_dict[{key}].")
    infos = []
    start = plugin_data_pb2.SessionStartInfo()
    for key, value in hparam_dict.items():
        if value is None:
            continue
        # bool before int: True is an int to Python, but PyTorch logs bools as numbers too
        if isinstance(value, (int, float)):
            field, data_type = "number_value", "DATA_TYPE_FLOAT64"
        elif isinstance(value, str):
            field, data_type = "string_value", "DATA_TYPE_STRING"
        elif hasattr(value, "shape") and hasattr(value, "dtype"):  # a tensor
            value = make_np(value).reshape(-1)[0]
            field, data_type = "number_value", "DATA_TYPE_FLOAT64"
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        setattr(start.hparams[key], field, value)
        domain = None
        if key in hparam_domain_discrete:
            domain = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d})
                                                  for d in hparam_domain_discrete[key]])
        infos.append(api_pb2.HParamInfo(name=key, type=api_pb2.DataType.Value(data_type),
                                        domain_discrete=domain))

    def wrap(tag, **content):
        data = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION,
                                                 **content)
        return Summary(value=[Summary.Value(
            tag=tag, metadata=_plugin(metadata.PLUGIN_NAME, data.SerializeToString()))])

    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value("STATUS_SUCCESS"))
    return (wrap(metadata.EXPERIMENT_TAG, experiment=experiment),
            wrap(metadata.SESSION_START_INFO_TAG, session_start_info=start),
            wrap(metadata.SESSION_END_INFO_TAG, session_end_info=end))


def mesh(tag, vertices, colors, faces, config_dict, display_name=None, description=None):
    """A 3-d point cloud or mesh: vertices (B, N, 3), optional colors and faces."""
    from tensorboard.plugins.mesh import metadata
    from tensorboard.plugins.mesh.plugin_data_pb2 import MeshPluginData

    json_config = json.dumps(config_dict, sort_keys=True) if config_dict is not None else "{}"
    parts = [(vertices, MeshPluginData.VERTEX), (faces, MeshPluginData.FACE),
             (colors, MeshPluginData.COLOR)]
    present = [(make_np(t), kind) for t, kind in parts if t is not None]
    components = metadata.get_components_bitmask([kind for _, kind in present])
    values = []
    for array, kind in present:
        meta = metadata.create_summary_metadata(tag, display_name, kind, components,
                                                array.shape, description,
                                                json_config=json_config)
        proto = TensorProto(dtype="DT_FLOAT", float_val=array.reshape(-1).tolist(),
                            tensor_shape=_shape(*array.shape[:3]))
        values.append(Summary.Value(tag=metadata.get_instance_name(tag, kind), tensor=proto,
                                    metadata=meta))
    return Summary(value=values)
