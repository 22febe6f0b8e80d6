using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/PixelBox.Bench -- [--filter *Name*]`
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
