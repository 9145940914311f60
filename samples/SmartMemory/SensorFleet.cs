namespace Derecho.Samples.SmartMemory;

/// <summary>
/// Simulated machines: each sensor's load wanders between regimes (idle, working, heavy); temperature follows
/// current plus an ambient temperature that drifts over the run; acoustics follow vibration. A rare fault breaks one
/// of those relations (a bearing: vibration without sound; overheating: heat without current; a surge: current
/// without heat) and is marked as ground truth. Deterministic for a seed.
/// </summary>
internal sealed class SensorFleet(int sensors, int seed, TimeSpan commissioning, double faultRate = 0.002)
{
    private readonly Random _random = new(seed);
    private readonly double[] _load = Enumerable.Range(0, sensors).Select(i => 0.2 + 0.6 * ((i * 7919) % 100) / 100.0).ToArray();
    private readonly double[] _target = Enumerable.Range(0, sensors).Select(i => 0.2 + 0.6 * ((i * 7919) % 100) / 100.0).ToArray();
    private readonly long[] _sequence = new long[sensors];

    public int Sensors => sensors;

    public long FaultsInjected { get; private set; }

    /// <summary>The next reading of <paramref name="sensor"/> at <paramref name="elapsed"/> into a run of <paramref name="duration"/>.</summary>
    public SensorReading Next(int sensor, TimeSpan elapsed, TimeSpan duration)
    {
        // Regimes: now and then a sensor's machine changes work; its load moves there smoothly.
        if (_random.NextDouble() < 0.002) _target[sensor] = _random.Next(3) switch { 0 => 0.1, 1 => 0.5, _ => 0.9 };
        var load = _load[sensor] += 0.05 * (_target[sensor] - _load[sensor]) + Noise(0.01);
        var ambient = 20 + Math.Min(12, 0.3 * elapsed.TotalSeconds); // drifts 0.3 °C/s: an old model sees warm machines as faulty
        var current = load + Noise(0.05);
        var temperature = ambient + 30 * load + Noise(0.5);
        var vibration = 0.5 + 2 * load + Noise(0.1);
        var acoustic = 40 + 10 * vibration + Noise(1);
        var fault = elapsed > commissioning && _random.NextDouble() < faultRate;
        if (fault)
        {
            FaultsInjected++;
            switch (_random.Next(3))
            {
                case 0: vibration += 2.5 + _random.NextDouble() * 2; break; // bearing: shakes, sound does not follow
                case 1: temperature += 12 + _random.NextDouble() * 10; break; // overheating without load
                default: current += 0.6 + _random.NextDouble() * 0.6; break; // surge without heat
            }
        }
        return new SensorReading(sensor, ++_sequence[sensor], DateTime.UtcNow.Ticks, (float)current, (float)temperature, (float)vibration, (float)acoustic, fault);
    }

    private double Noise(double scale) => (_random.NextDouble() * 2 - 1) * scale;
}
