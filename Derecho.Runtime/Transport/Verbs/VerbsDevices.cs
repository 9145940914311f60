using System.Runtime.InteropServices;

namespace Derecho.Transport.Verbs;

/// <summary>What the RDMA probe found: the devices, or why there are none.</summary>
internal sealed record VerbsProbe(IReadOnlyList<string> Devices, string? Unavailable)
{
    /// <summary>Whether at least one RDMA device can be used.</summary>
    public bool HasDevices => Devices.Count > 0;
}

/// <summary>
/// Looks for RDMA hardware through rdma-core's libibverbs, loaded at run time (P/Invoke through
/// <see cref="NativeLibrary"/>), so the library is optional: without it, or without a device, the probe
/// says why and the group uses TCP.
/// </summary>
internal static unsafe class VerbsDevices
{
    private static readonly string[] LibraryNames = ["libibverbs.so.1", "libibverbs.so", "ibverbs"];

    /// <summary>Loads libibverbs if present and lists the RDMA devices.</summary>
    public static VerbsProbe Probe()
    {
        if (!OperatingSystem.IsLinux()) return new([], "RDMA verbs are only supported on Linux");
        nint library = 0;
        foreach (var name in LibraryNames)
            if (NativeLibrary.TryLoad(name, out library)) break;
        if (library == 0) return new([], "libibverbs is not installed (Debian: apt-get install libibverbs1 rdma-core)");
        try
        {
            if (!NativeLibrary.TryGetExport(library, "ibv_get_device_list", out var getList) ||
                !NativeLibrary.TryGetExport(library, "ibv_free_device_list", out var freeList) ||
                !NativeLibrary.TryGetExport(library, "ibv_get_device_name", out var getName))
                return new([], "libibverbs lacks ibv_get_device_list/ibv_free_device_list/ibv_get_device_name");
            int count;
            var list = ((delegate* unmanaged<int*, nint*>)getList)(&count);
            var errno = Marshal.GetLastSystemError();
            if (list == null) return new([], $"ibv_get_device_list failed (errno {errno}): no RDMA kernel support or device on this machine");
            try
            {
                var devices = new List<string>();
                for (var i = 0; i < count; i++)
                    devices.Add(Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)getName)(list[i])) ?? $"device{i}");
                return new(devices, devices.Count == 0 ? "libibverbs found no RDMA device" : null);
            }
            finally
            {
                ((delegate* unmanaged<nint*, void>)freeList)(list);
            }
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }
}
