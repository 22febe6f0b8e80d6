using BenchmarkDotNet.Running;
using PixelBox.Bench;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]` runs BenchmarkDotNet.
// Quick Stopwatch modes that write bench/results/*.json:
//   `-- data` (data loading), `-- cm` (confusion matrix), `-- coco --data DIR` (end-to-end COCO evaluation),
//   `-- models` (U-Net / FCN-8s timings against a bare TorchSharp network and, if installed, PyTorch),
//   `-- trainer` (trainer and data-loading overhead over a bare TorchSharp training loop),
//   `-- nms` (NMS against Debian's python3-torchvision on the same boxes),
//   `-- detector` (detector latency per image, batch 1: the whole predictor path and the forward pass),
//   `-- zoo` (every segmentation zoo model's inference and training step against PyTorch; `-- zoo-table` prints its README table).
//   `-- onnx A.onnx B.onnx [--threads N] [--repeats R]` (ONNX Runtime latency of exported or quantized models, batch 1).
// Freed tensor buffers are kept for reuse as the CLI keeps them (PixelBox.Interop.NativeAllocator);
// `--default-malloc` measures with glibc's defaults instead.
if (!args.Contains("--default-malloc"))
    PixelBox.Interop.NativeAllocator.KeepFreedBlocks();
if (args is ["data", ..]) { DataLoadingBench.Run(); return 0; }
if (args is ["cm", .. var cmArgs]) { ConfusionMatrixQuickBench.Run(cmArgs); return 0; }
if (args is ["coco", .. var cocoArgs]) return CocoEvalBench.Run(cocoArgs);
if (args is ["models", .. var modelArgs]) { PixelBox.Bench.Models.ModelBench.Run(modelArgs); return 0; }
if (args is ["trainer", .. var trainerArgs]) { PixelBox.Bench.Models.TrainerBench.Run(trainerArgs); return 0; }
if (args is ["nms", .. var nmsArgs]) return NmsBench.Run(nmsArgs);
if (args is ["onnx", .. var onnxArgs]) return OnnxLatencyBench.Run(onnxArgs);
if (args is ["detector", .. var detectorArgs]) { PixelBox.Bench.Models.DetectorBench.Run(detectorArgs); return 0; }
if (args is ["zoo", .. var zooArgs]) return PixelBox.Bench.Models.ZooBench.Run(zooArgs);
if (args is ["zoo-table", .. var tableArgs]) return PixelBox.Bench.Models.ZooBench.PrintTable(tableArgs);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
