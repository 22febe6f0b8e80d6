using BenchmarkDotNet.Running;
using PixelBox.Bench;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]`
// Quick Stopwatch modes that write bench/results/*.json: `-- cm` (confusion matrix).
if (args is ["cm", .. var cmArgs]) { ConfusionMatrixQuickBench.Run(cmArgs); return; }
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
