using BenchmarkDotNet.Running;
using PixelBox.Bench;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]`
// `dotnet run -c Release --project bench/PixelBox.Bench -- coco --data DIR`: end-to-end COCO evaluation
if (args.Length > 0 && args[0] == "coco")
    return CocoEvalBench.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
