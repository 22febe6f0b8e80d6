using BenchmarkDotNet.Running;
using PixelBox.Bench;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]` runs BenchmarkDotNet.
// Quick Stopwatch modes that write bench/results/*.json: `-- data` (data loading), `-- cm` (confusion matrix).
if (args is ["data", ..]) { DataLoadingBench.Run(); return; }
if (args is ["cm", .. var cmArgs]) { ConfusionMatrixQuickBench.Run(cmArgs); return; }
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
