using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]`
if (args is ["data", ..]) { PixelBox.Bench.DataLoadingBench.Run(); return; }
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
