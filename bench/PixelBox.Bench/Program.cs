using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]`
// `dotnet run -c Release --project bench/PixelBox.Bench -- models`: model timings -> bench/results/models.json
if (args is ["models", .. var modelArgs]) { PixelBox.Bench.Models.ModelBench.Run(modelArgs); return; }
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
