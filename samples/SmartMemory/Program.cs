using Derecho.Samples.SmartMemory;

// No arguments: the whole demo (3 members, the sensor fleet, the operator) on this machine.
// member / fleet / operator: one process of it, as the launcher starts them.
try
{
    var mode = args.FirstOrDefault() ?? "";
    var options = new Arguments(mode.StartsWith("--", StringComparison.Ordinal) || mode == "" ? args : args[1..]);
    return mode switch
    {
        "member" => await MemberProcess.RunAsync(options),
        "fleet" => await FleetProcess.RunAsync(options),
        "operator" => await OperatorProcess.RunAsync(options),
        _ => await Launcher.RunAsync(options),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"smart memory: {e.Message}");
    Console.Error.WriteLine("usage: [--seconds N] [--rate R] [--sensors S] | member --id N --members ID=HOST:PORT,... --data DIR | fleet --contacts ... | operator --contacts ...");
    return 2;
}
