//! Principal component analysis of a handful of embedding vectors, for the 3-D plot of
//! `POST /api/v1/vector-viz/search`: the result vectors are centred, their three main axes
//! found by power iteration with deflation (never forming the d×d covariance matrix, so the
//! cost is O(iterations · n · d)), and every vector, the query's too, projected on them.

/// Coordinates of each result and of the query on the first three principal axes, and the
/// share of the results' variance each axis explains.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub points: Vec<[f32; 3]>,
    pub query: [f32; 3],
    pub variance: [f32; 3],
}

const AXES: usize = 3;
const ITERATIONS: usize = 200;

/// Projects `vectors` (one per result, all of the query's dimension) and `query` on the
/// results' principal axes. `None` with fewer than two vectors or when the dimensions differ.
/// Axes beyond the data's rank get coordinate 0.
pub fn project(vectors: &[Vec<f32>], query: &[f32]) -> Option<Projection> {
    let n = vectors.len();
    let d = query.len();
    if n < 2 || d == 0 || vectors.iter().any(|v| v.len() != d) {
        return None;
    }
    let mut mean = vec![0f64; d];
    for v in vectors {
        for (m, x) in mean.iter_mut().zip(v) {
            *m += f64::from(*x) / n as f64;
        }
    }
    let mut centred: Vec<Vec<f64>> = vectors
        .iter()
        .map(|v| {
            v.iter()
                .zip(&mean)
                .map(|(x, m)| f64::from(*x) - m)
                .collect()
        })
        .collect();
    let total: f64 = centred.iter().flatten().map(|x| x * x).sum();
    let mut axes: Vec<Vec<f64>> = Vec::with_capacity(AXES);
    let mut explained = [0f32; AXES];
    for (k, share) in explained.iter_mut().enumerate() {
        let Some((axis, energy)) = principal_axis(&centred, k) else {
            break;
        };
        // Deflate: remove this axis from every row, so the next iteration finds the next one.
        for row in &mut centred {
            let p = dot(row, &axis);
            for (x, a) in row.iter_mut().zip(&axis) {
                *x -= p * a;
            }
        }
        if total > 0.0 {
            *share = (energy / total) as f32;
        }
        axes.push(axis);
    }
    let coords = |v: &[f64]| {
        let mut c = [0f32; AXES];
        for (slot, axis) in c.iter_mut().zip(&axes) {
            *slot = dot(v, axis) as f32;
        }
        c
    };
    let points = vectors
        .iter()
        .map(|v| {
            let row: Vec<f64> = v
                .iter()
                .zip(&mean)
                .map(|(x, m)| f64::from(*x) - m)
                .collect();
            coords(&row)
        })
        .collect();
    let q: Vec<f64> = query
        .iter()
        .zip(&mean)
        .map(|(x, m)| f64::from(*x) - m)
        .collect();
    Some(Projection {
        points,
        query: coords(&q),
        variance: explained,
    })
}

/// The unit direction of greatest variance of the rows, and the variance along it (the sum
/// of squared projections); `None` when the rows have none left.
fn principal_axis(rows: &[Vec<f64>], seed: usize) -> Option<(Vec<f64>, f64)> {
    let d = rows.first()?.len();
    // A deterministic start that is not orthogonal to the data: the row of most energy, or
    // a unit vector when every row is zero.
    let mut v = rows
        .iter()
        .max_by(|a, b| dot(a, a).total_cmp(&dot(b, b)))
        .filter(|r| dot(r, r) > 1e-24)?
        .clone();
    if let Some(x) = v.get_mut(seed % d) {
        *x += 1e-3;
    }
    normalise(&mut v)?;
    for _ in 0..ITERATIONS {
        // w = Xᵀ (X v)
        let mut w = vec![0f64; d];
        for row in rows {
            let p = dot(row, &v);
            for (acc, x) in w.iter_mut().zip(row) {
                *acc += p * x;
            }
        }
        normalise(&mut w)?;
        let delta: f64 = w.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = w;
        if delta < 1e-10 {
            break;
        }
    }
    let energy: f64 = rows.iter().map(|r| dot(r, &v).powi(2)).sum();
    (energy > 1e-18).then_some((v, energy))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f64]) -> Option<()> {
    let norm = dot(v, v).sqrt();
    if norm < 1e-12 {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::project;

    #[test]
    fn points_on_a_line_need_one_axis() {
        // Four points along (1, 1, 0) around (0, 0, 5): all variance on the first axis.
        let vectors: Vec<Vec<f32>> = [-3.0f32, -1.0, 1.0, 3.0]
            .iter()
            .map(|t| vec![*t, *t, 5.0])
            .collect();
        let p = project(&vectors, &[2.0, 2.0, 5.0]).expect("projection");
        assert!((p.variance[0] - 1.0).abs() < 1e-4, "{:?}", p.variance);
        assert!(p.variance[1].abs() < 1e-4 && p.variance[2].abs() < 1e-4);
        // Distances along the line are kept: ±3√2 and ±√2, in order (up to the axis' sign).
        let xs: Vec<f32> = p.points.iter().map(|c| c[0]).collect();
        let sign = xs[3].signum();
        let expected = [-3.0f32, -1.0, 1.0, 3.0].map(|t| t * 2f32.sqrt() * sign);
        for (x, e) in xs.iter().zip(expected) {
            assert!((x - e).abs() < 1e-3, "{xs:?}");
        }
        assert!((p.query[0] - 2.0 * 2f32.sqrt() * sign).abs() < 1e-3);
        assert!(
            p.points
                .iter()
                .all(|c| c[1].abs() < 1e-3 && c[2].abs() < 1e-3)
        );
    }

    #[test]
    fn the_axes_are_ordered_by_variance_and_orthogonal() {
        // Spread 10 along x, 3 along y, 1 along z, in 4 dimensions.
        let mut vectors = Vec::new();
        for (x, y, z) in [(10.0, 0.0, 0.0), (-10.0, 0.0, 0.0), (0.0, 3.0, 0.0)] {
            vectors.push(vec![x, y, z, 0.0]);
        }
        vectors.push(vec![0.0, -3.0, 0.0, 0.0]);
        vectors.push(vec![0.0, 0.0, 1.0, 0.0]);
        vectors.push(vec![0.0, 0.0, -1.0, 0.0]);
        let p = project(&vectors, &[0.0, 0.0, 0.0, 7.0]).expect("projection");
        assert!(p.variance[0] > p.variance[1] && p.variance[1] > p.variance[2]);
        let sum: f32 = p.variance.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "{:?}", p.variance);
        assert!((p.points[0][0].abs() - 10.0).abs() < 1e-3);
        assert!((p.points[2][1].abs() - 3.0).abs() < 1e-3);
        assert!((p.points[4][2].abs() - 1.0).abs() < 1e-3);
        // The query differs from the mean only along the 4th dimension, which no axis spans.
        assert!(p.query.iter().all(|c| c.abs() < 1e-3), "{:?}", p.query);
    }

    #[test]
    fn too_few_or_mismatched_vectors_give_nothing() {
        assert_eq!(project(&[vec![1.0, 2.0]], &[0.0, 0.0]), None);
        assert_eq!(project(&[vec![1.0, 2.0], vec![1.0]], &[0.0, 0.0]), None);
        let same = project(&[vec![1.0, 2.0], vec![1.0, 2.0]], &[0.0, 0.0]).expect("some");
        assert_eq!(same.points, vec![[0.0; 3]; 2]);
        assert_eq!(same.variance, [0.0; 3]);
    }
}
