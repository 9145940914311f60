using System.Globalization;

namespace Derecho.Samples.Counter;

/// <summary>Command line of one member process: --member ID --ports P0,P1,P2 [--calls N].</summary>
internal sealed record MemberArguments(int MemberId, int[] Ports, int Calls)
{
    public static MemberArguments Parse(string[] args)
    {
        int? member = null;
        int[]? ports = null;
        var calls = 1000;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--member": member = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--ports": ports = args[i + 1].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--calls": calls = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (member is null || ports is null) throw new ArgumentException("usage: --member ID --ports P0,P1,... [--calls N]");
        return new MemberArguments(member.Value, ports, calls);
    }

    public string ToCommandLine() => $"--member {MemberId} --ports {string.Join(',', Ports)} --calls {Calls}";
}
