using System.ComponentModel;
using MemoryPack;

namespace Derecho.Rpc;

/// <summary>
/// Reads a call's MemoryPack-encoded arguments in order, for the generated dispatch cases:
/// <c>var r = new ArgumentReader(arguments); var a0 = r.Read&lt;long&gt;(); r.Dispose();</c>.
/// Public only because generated code in the user's assembly calls it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public ref struct ArgumentReader
{
    private readonly MemoryPackReaderOptionalState _state;
    private MemoryPackReader _reader;

    /// <summary>Starts reading <paramref name="arguments"/> with pooled reader state.</summary>
    public ArgumentReader(ReadOnlySpan<byte> arguments)
    {
        _state = MemoryPackReaderOptionalStatePool.Rent(null);
        _reader = new MemoryPackReader(arguments, _state);
    }

    /// <summary>
    /// Reads the next argument. A read that throws (a malformed request) returns the pooled state first,
    /// so the generated case needs no try/finally of its own.
    /// </summary>
    public T Read<T>()
    {
        try
        {
            return _reader.ReadValue<T>()!;
        }
        catch (MemoryPackSerializationException)
        {
            Dispose();
            throw;
        }
        catch (Exception e) when (e is OverflowException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or NullReferenceException)
        {
            // MemoryPack's own checks let these through (a negative capacity, a duplicate or null key, a
            // checked size that overflows): they are malformed requests too, not a handler's failure.
            Dispose();
            throw new MemoryPackSerializationException($"argument {typeof(T).Name} cannot be read: {e.Message}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Returns the pooled reader state; call once, after the last <see cref="Read{T}"/>.</summary>
    public void Dispose()
    {
        _reader.Dispose();
        ((IDisposable)_state).Dispose();
    }
}
