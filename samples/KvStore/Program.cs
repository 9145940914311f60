using Derecho.Samples.KvStore;

// No arguments: start 6 member processes (2 shards x 3 replicas) and a client process on loopback.
// --member: run one member (a generic host; settings are configuration keys, e.g. --Derecho:MyId=3).
// --client: run the client workload against running members.
return args.FirstOrDefault() switch
{
    "--member" => await MemberHost.RunAsync(args[1..]),
    "--client" => await ClientWorkload.RunAsync(ClientArguments.Parse(args[1..])),
    _ => await Launcher.RunAsync(args),
};
