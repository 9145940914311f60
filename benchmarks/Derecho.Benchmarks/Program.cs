using Derecho.Benchmarks;

// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- multicast [--json] [--seconds N] [--sizes 100,1000] [--tls] [--metrics]
// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- viewchange [--json] [--runs N]
// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- persistence [--json]
// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- kv [--json] [--seconds N] [--in-flight K] [--shards 1,2] [--peers etcd,dotnext]
// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- restart [--json] [--log-mb N] [--behind K]
// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- latency [--json] [--calls N] [--peers etcd,dotnext]
// dotnet run -c Release --project benchmarks/Derecho.Benchmarks -- smartmemory [--json] [--seconds N] [--rate R]
if (args.Length > 0 && args[0] == "--child") return await MulticastMember.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "--child-dotnext") return await DotNextMember.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "--child-echo") return await EchoServer.RunAsync();
if (args.Length > 0 && args[0] == "--child-latency") return await LatencyMember.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "latency") return await LatencyBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "--child-view") return await ViewChangeMember.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "viewchange") return await ViewChangeBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "persistence") return await PersistenceBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "multicast") return await MulticastBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "kv") return await KvBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "restart") return await RestartBenchmark.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "smartmemory") return await SmartMemoryBenchmark.RunAsync(args[1..]);
Console.Error.WriteLine("usage: Derecho.Benchmarks multicast [--json] [--seconds N] [--sizes 100,1000,...] [--tls] [--metrics]\n       Derecho.Benchmarks viewchange [--json] [--runs N]\n       Derecho.Benchmarks persistence [--json]\n       Derecho.Benchmarks kv [--json] [--seconds N] [--in-flight K] [--shards 1,2] [--peers etcd,dotnext]\n       Derecho.Benchmarks restart [--json] [--log-mb N] [--behind K]\n       Derecho.Benchmarks latency [--json] [--calls N] [--peers etcd,dotnext]\n       Derecho.Benchmarks smartmemory [--json] [--seconds N] [--rate R]");
return 2;
