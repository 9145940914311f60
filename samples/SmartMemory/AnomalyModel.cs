using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Derecho.Samples.SmartMemory;

/// <summary>
/// The per-event detector: ML.NET's randomized-PCA anomaly detector over a reading's four channels. Normal
/// readings lie near a low-dimensional subspace (temperature follows current, acoustics follow vibration); a
/// fault breaks that, and its reconstruction error (the score) jumps. Drift of the ambient temperature moves
/// normal readings off an old subspace too, which is why the shard retrains online.
/// </summary>
internal sealed class AnomalyModel
{
    private static readonly MLContext Ml = new(seed: 7);
    private static readonly Lock MlGate = new(); // MLContext makes no thread-safety promise; training and loading take turns
    private readonly PredictionEngine<Features, Scored> _engine;
    private readonly Lock _gate = new();

    private AnomalyModel(ITransformer transformer, ModelSnapshot snapshot)
    {
        lock (MlGate) _engine = Ml.Model.CreatePredictionEngine<Features, Scored>(transformer);
        Snapshot = snapshot;
    }

    public ModelSnapshot Snapshot { get; }

    /// <summary>Trains on recent readings; thresholds come from the training scores (keep above 1.5x their 99.5th percentile, alert above 6x that).</summary>
    public static ModelSnapshot Train(IReadOnlyList<SensorReading> readings)
    {
        lock (MlGate) return TrainLocked(readings);
    }

    private static ModelSnapshot TrainLocked(IReadOnlyList<SensorReading> readings)
    {
        var rows = readings.Select(Features.Of).ToList();
        var data = Ml.Data.LoadFromEnumerable(rows);
        var trainer = Ml.AnomalyDetection.Trainers.RandomizedPca(new RandomizedPcaTrainer.Options
        {
            FeatureColumnName = nameof(Features.Values),
            Rank = 2,
            Seed = 7,
            EnsureZeroMean = false, // the score is relative to a reading's norm: keep the offset so it tracks the absolute error
        });
        var transformer = trainer.Fit(data);
        using var bytes = new MemoryStream();
        Ml.Model.Save(transformer, data.Schema, bytes);
        var engine = Ml.Model.CreatePredictionEngine<Features, Scored>(transformer);
        var scores = rows.Select(r => engine.Predict(r).Score).Order().ToList();
        var keep = 1.5f * scores[(int)(scores.Count * 0.995)];
        return new ModelSnapshot(0, readings.Count, keep, 6 * keep, bytes.ToArray());
    }

    /// <summary>A scorer for a published model (its parameters as every replica holds them).</summary>
    public static AnomalyModel Load(ModelSnapshot snapshot)
    {
        using var bytes = new MemoryStream(snapshot.Parameters);
        ITransformer transformer;
        lock (MlGate) transformer = Ml.Model.Load(bytes, out _);
        return new AnomalyModel(transformer, snapshot);
    }

    public float Score(in SensorReading reading)
    {
        var features = Features.Of(reading);
        lock (_gate) return _engine.Predict(features).Score; // a prediction engine is not thread-safe
    }

    /// <summary>The model's input: the four channels, scaled to comparable spreads.</summary>
    private sealed class Features
    {
        [VectorType(4)]
        public float[] Values { get; set; } = [];

        public static Features Of(SensorReading r) => new() { Values = [r.Current * 20, r.Temperature, r.Vibration * 10, r.Acoustic] };
    }

    private sealed class Scored
    {
        public float Score { get; set; }

        public bool PredictedLabel { get; set; }
    }
}
