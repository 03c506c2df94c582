using System.Net;
using System.Net.Sockets;

namespace ApiPlatform.Tests.Shared;

/// <summary>Loopback ports for servers a test starts (linked into every test project that needs one).</summary>
public static class TestPorts
{
    private static readonly HashSet<int> Handed = [];

    /// <summary>
    /// A loopback port free now and never handed out before in this test process: the kernel may give a port that was
    /// just probed and released to the next probe too, and two silos of one cluster were once told the same port.
    /// </summary>
    public static int Free()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Handed)
            {
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
