using Derecho.Samples.Counter;

// No arguments: start a 3-member group as 3 child processes on loopback and check they agree.
// With --member: run one member (what the children do); --data DIR makes it the persistent Ledger member.
if (args.Length == 0 || args[0] != "--member") return await Launcher.RunGroupAsync(args);
var data = Array.IndexOf(args, "--data");
return data < 0
    ? await Member.RunAsync(MemberArguments.Parse(args))
    : await PersistentMember.RunAsync(MemberArguments.Parse([.. args[..data], .. args[(data + 2)..]]), args[data + 1]);
