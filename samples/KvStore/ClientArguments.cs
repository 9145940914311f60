using System.Globalization;

namespace Derecho.Samples.KvStore;

/// <summary>
/// Command line of the client: --contacts ID=HOST:PORT,... [--puts N] [--in-flight K] [--value-bytes B]
/// [--progress-every N] (prints PROGRESS lines with the current contact: the tests kill it mid-stream)
/// [--tls DIR] (mutual TLS with the certificate DIR/client-kv-client.pem and the authority DIR/ca.pem).
/// </summary>
internal sealed record ClientArguments(IReadOnlyList<(int Id, string Endpoint)> Contacts, int Puts = 3000, int InFlight = 64, int ValueBytes = 100, int ProgressEvery = 1000,
    string? TlsDirectory = null)
{
    public const string ClientName = "kv-client";

    /// <summary>The TLS settings of --tls DIR, or null.</summary>
    public Derecho.Security.TlsOptions? Tls => TlsDirectory is null ? null : Derecho.Security.DerechoCertificates.ClientTls(TlsDirectory, ClientName);

    public static ClientArguments Parse(string[] args)
    {
        var contacts = new List<(int, string)>();
        var puts = 3000;
        var inFlight = 64;
        var valueBytes = 100;
        var progressEvery = 1000;
        string? tls = null;
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length) throw new ArgumentException($"option {args[i]} needs a value");
            var value = args[i + 1];
            switch (args[i])
            {
                case "--contacts":
                    foreach (var contact in value.Split(','))
                    {
                        var parts = contact.Split('=', 2);
                        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var id))
                            throw new ArgumentException($"--contacts: '{contact}' is not ID=HOST:PORT");
                        contacts.Add((id, parts[1]));
                    }
                    break;
                case "--puts": puts = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--in-flight": inFlight = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--value-bytes": valueBytes = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--progress-every": progressEvery = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--tls": tls = value; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (contacts.Count == 0) throw new ArgumentException("usage: --client --contacts ID=HOST:PORT,... [--puts N] [--in-flight K]");
        return new ClientArguments(contacts, puts, inFlight, valueBytes, progressEvery, tls);
    }

    public string ToCommandLine() =>
        $"--client --contacts {string.Join(',', Contacts.Select(c => $"{c.Id}={c.Endpoint}"))} --puts {Puts} --in-flight {InFlight} --value-bytes {ValueBytes}" +
        $" --progress-every {ProgressEvery}" + (TlsDirectory is null ? "" : $" --tls {TlsDirectory}");
}
