using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Derecho.Cli;

/// <summary>A member to contact, as given: <c>HOST:PORT</c> or <c>ID=HOST:PORT</c> (the id is learned from the view when not given).</summary>
internal sealed record Contact(int? Id, IPEndPoint Endpoint, string Text)
{
    /// <summary>Parses one --contact; throws <see cref="CliException"/> saying what is wrong with it.</summary>
    public static Contact Parse(string text)
    {
        var rest = text.Trim();
        int? id = null;
        var equals = rest.IndexOf('=', StringComparison.Ordinal);
        if (equals >= 0)
        {
            if (!int.TryParse(rest[..equals], NumberStyles.None, CultureInfo.InvariantCulture, out var given))
                throw new CliException($"--contact '{text}': '{rest[..equals]}' is not a member id (expected HOST:PORT or ID=HOST:PORT)");
            id = given;
            rest = rest[(equals + 1)..];
        }
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || colon == rest.Length - 1)
            throw new CliException($"--contact '{text}': expected HOST:PORT or ID=HOST:PORT, e.g. 127.0.0.1:7000");
        var host = rest[..colon].Trim('[', ']');
        if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new CliException($"--contact '{text}': '{rest[(colon + 1)..]}' is not a port (1-65535)");
        if (!IPAddress.TryParse(host, out var address))
        {
            try
            {
                var addresses = Dns.GetHostAddresses(host);
                address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                    ?? throw new CliException($"--contact '{text}': host '{host}' has no address");
            }
            catch (SocketException e)
            {
                throw new CliException($"--contact '{text}': cannot resolve host '{host}': {e.Message}");
            }
        }
        return new Contact(id, new IPEndPoint(address, port), text);
    }
}

/// <summary>An error the CLI reports as one line on standard error, with its exit code.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Usage) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The command ran, and the answer is "no" (kv get of a missing key, a member not running).</summary>
    public const int NotFound = 1;
    /// <summary>Bad arguments.</summary>
    public const int Usage = 2;
    /// <summary>The group could not be reached or did not answer.</summary>
    public const int Unreachable = 3;
}
