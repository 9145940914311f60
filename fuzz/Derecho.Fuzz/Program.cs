using Derecho.Fuzz;
using SharpFuzz;

// derecho-fuzz <target>             run a target under afl-fuzz (the input comes from afl)
// derecho-fuzz seeds <directory>    write every target's seeds to <directory>/<target>/
// derecho-fuzz replay <target> <file>…  run a target once per file, outside afl (reproducing a finding)
switch (args)
{
    case ["seeds", var directory]:
        foreach (var target in FuzzTargets.All.Keys)
        {
            var folder = Directory.CreateDirectory(Path.Combine(directory, target)).FullName;
            var seeds = Seeds.For(target);
            for (var i = 0; i < seeds.Count; i++) File.WriteAllBytes(Path.Combine(folder, $"seed-{i}"), seeds[i]);
        }
        return 0;
    case ["replay", var target, .. var files]:
        foreach (var file in files)
        {
            FuzzTargets.Run(target, File.ReadAllBytes(file));
            Console.WriteLine($"{file}: ok");
        }
        return 0;
    case [var target] when FuzzTargets.All.ContainsKey(target):
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            FuzzTargets.Run(target, copy.GetBuffer().AsSpan(0, (int)copy.Length));
        });
        return 0;
    default:
        Console.Error.WriteLine($"usage: Derecho.Fuzz <target> | seeds <directory> | replay <target> <file>...; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
        return 2;
}
