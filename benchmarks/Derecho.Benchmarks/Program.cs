using Derecho.Benchmarks;

// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- multicast [--json] [--seconds N] [--sizes 100,1000]
if (args.Length > 0 && args[0] == "--child") return await MulticastMember.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "multicast") return await MulticastBenchmark.RunAsync(args[1..]);
Console.Error.WriteLine("usage: Derecho.Benchmarks multicast [--json] [--seconds N] [--sizes 100,1000,...]");
return 2;
