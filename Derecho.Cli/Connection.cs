using System.CommandLine;
using System.Net;
using Derecho.Client;
using Derecho.Errors;
using Derecho.Membership;
using Derecho.Security;

namespace Derecho.Cli;

/// <summary>The options every command shares: whom to contact and the group's settings (which must match the members').</summary>
internal sealed class ConnectionOptions
{
    /// <summary>An id no member has: a contact given without one is dialled under it until the view says who it is.</summary>
    private const int UnknownId = (1 << 30) - 1;

    public Option<string[]> Contacts { get; } = new("--contact", "-c")
    {
        Description = "A member to contact, HOST:PORT or ID=HOST:PORT (repeat for more; any member will do)",
        Required = true,
        AllowMultipleArgumentsPerToken = false,
    };
    public Option<string> Group { get; } = new("--group", "-g") { Description = "The group's name (Derecho:GroupName)", DefaultValueFactory = _ => "derecho" };
    public Option<int> RingBytes { get; } = new("--ring-bytes") { Description = "The group's Derecho:RingBytes", DefaultValueFactory = _ => 8 << 20 };
    public Option<int> MaxPayloadBytes { get; } = new("--max-payload-bytes") { Description = "The group's Derecho:MaxPayloadBytes", DefaultValueFactory = _ => 1 << 20 };
    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for the contact, and for each answer", DefaultValueFactory = _ => 5 };
    public Option<string> Listen { get; } = new("--listen") { Description = "Where this client listens for answers (HOST:PORT; reachable from the members)", DefaultValueFactory = _ => "127.0.0.1:0" };
    public Option<bool> AllowInsecure { get; } = new("--allow-insecure") { Description = "Listen on a non-loopback address without TLS" };
    public Option<string?> TlsCertificate { get; } = new("--tls-cert") { Description = "This client's certificate (PEM, naming derecho://client/<name>)" };
    public Option<string?> TlsKey { get; } = new("--tls-key") { Description = "The certificate's private key (PEM)" };
    public Option<string?> TlsCa { get; } = new("--tls-ca") { Description = "The authority the members' certificates chain to (PEM)" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Contacts, Group, RingBytes, MaxPayloadBytes, Timeout, Listen, AllowInsecure, TlsCertificate, TlsKey, TlsCa })
            command.Add(option);
    }

    /// <summary>
    /// Connects as an external client. A contact given without its id is dialled first, then the client reconnects
    /// under the id the view gives its endpoint (a status query must name the member it asks).
    /// </summary>
    public async Task<DerechoClient> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var contacts = (parse.GetValue(Contacts) ?? []).SelectMany(c => c.Split(',', StringSplitOptions.RemoveEmptyEntries)).Select(Contact.Parse).ToList();
        if (contacts.Count == 0) throw new CliException("--contact: give at least one member, HOST:PORT or ID=HOST:PORT");
        var timeout = TimeSpan.FromSeconds(parse.GetValue(Timeout));
        if (timeout <= TimeSpan.Zero) throw new CliException("--timeout: must be more than 0 seconds");
        var tls = TlsFrom(parse);
        DerechoClientOptions OptionsFor(IEnumerable<(int Id, IPEndPoint Endpoint)> members) => new()
        {
            Contacts = members.Select(m => new MemberOptions { Id = m.Id, Endpoint = m.Endpoint.ToString() }).ToList(),
            GroupName = parse.GetValue(Group) ?? "derecho",
            RingBytes = parse.GetValue(RingBytes),
            MaxPayloadBytes = parse.GetValue(MaxPayloadBytes),
            ConnectTimeout = timeout,
            RequestTimeout = timeout,
            ListenEndpoint = parse.GetValue(Listen) ?? "127.0.0.1:0",
            AllowInsecure = parse.GetValue(AllowInsecure),
            Tls = tls,
        };
        var known = contacts.Where(c => c.Id is not null).Select(c => (c.Id!.Value, c.Endpoint)).ToList();
        if (known.Count == contacts.Count) return await Connect(OptionsFor(known), contacts, cancellationToken).ConfigureAwait(false);

        // Dial the first contact without an id under an id no member has, learn the view, reconnect under the real ids.
        var first = contacts.First(c => c.Id is null);
        DerechoClient probe;
        try { probe = await Connect(OptionsFor([(UnknownId, first.Endpoint)]), [first], cancellationToken).ConfigureAwait(false); }
        catch (CliException) when (known.Count > 0)
        {
            return await Connect(OptionsFor(known), contacts, cancellationToken).ConfigureAwait(false);
        }
        var endpoints = probe.Endpoints;
        await probe.DisposeAsync().ConfigureAwait(false);
        var found = endpoints.Where(e => e.Value.Equals(first.Endpoint)).Select(e => (int?)e.Key).FirstOrDefault();
        if (found is null)
            throw new CliException($"member at {first.Text} answered, but its view lists no member at {first.Endpoint} " +
                $"(members: {string.Join(", ", endpoints.Select(e => $"{e.Key}={e.Value}"))}): give the id as ID=HOST:PORT", ExitCodes.Unreachable);
        // The contact first, then every member of the view: any of them may answer.
        var ordered = new List<(int, IPEndPoint)> { (found.Value, first.Endpoint) };
        ordered.AddRange(known.Where(k => k.Item1 != found.Value));
        ordered.AddRange(endpoints.Where(e => e.Key != found.Value && known.All(k => k.Item1 != e.Key)).Select(e => (e.Key, e.Value)));
        return await Connect(OptionsFor(ordered), contacts, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<DerechoClient> Connect(DerechoClientOptions options, IReadOnlyList<Contact> contacts, CancellationToken cancellationToken)
    {
        try
        {
            return await DerechoClient.ConnectAsync(options, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (DerechoConfigurationException e)
        {
            throw new CliException(e.Message);
        }
        catch (Exception e) when (e is Transport.TransportException or OperationCanceledException or TimeoutException)
        {
            throw new CliException($"cannot reach the group at {string.Join(", ", contacts.Select(c => c.Text))} " +
                $"within {options.ConnectTimeout.TotalSeconds:0.#}s: {e.Message.Replace($"member {UnknownId} ", "member ", StringComparison.Ordinal)}", ExitCodes.Unreachable);
        }
    }

    private TlsOptions? TlsFrom(ParseResult parse)
    {
        var (certificate, key, ca) = (parse.GetValue(TlsCertificate), parse.GetValue(TlsKey), parse.GetValue(TlsCa));
        if (certificate is null && key is null && ca is null) return null;
        if (certificate is null || ca is null) throw new CliException("TLS needs --tls-cert and --tls-ca (and --tls-key unless the certificate file holds the key)");
        foreach (var path in new[] { certificate, key, ca })
            if (path is not null && !File.Exists(path)) throw new CliException($"TLS: no file {path}");
        return new TlsOptions { CertificatePath = certificate, KeyPath = key, TrustedCaPath = ca };
    }
}
