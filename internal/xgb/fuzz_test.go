package xgb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBoosterJSON feeds arbitrary bytes to LoadBoosterJSON. It must return
// an error or a model, never crash the process; a model it accepts must survive
// save → load unchanged and predict without failing.
func FuzzLoadBoosterJSON(f *testing.F) {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(model)
	f.Add([]byte{})
	f.Add([]byte("binf\x00\x00\x00\x00"))
	f.Add([]byte(`{"learner":{},"version":[1,7,4]}`))
	f.Add(bytes.Replace(model, []byte(`"num_trees":"3"`), []byte(`"num_trees":"9"`), 1))
	f.Add(bytes.Replace(model, []byte(`"left_children":[1,`), []byte(`"left_children":[99,`), 1))
	f.Add(bytes.Replace(model, []byte(`"num_feature":"6"`), []byte(`"num_feature":"2"`), 1))
	f.Add(bytes.Replace(model, []byte(`"left_children":[1,3,5,`), []byte(`"left_children":[1,0,5,`), 1))
	f.Add(bytes.Replace(model, []byte(`"split_indices":[1,`), []byte(`"split_indices":[6,`), 1))

	X, _ := synth(17, 50, 6, 0.1)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := LoadBoosterJSON(data)
		if err != nil {
			return
		}
		defer b.Close()
		saved, err := b.SaveJSON()
		if err != nil {
			t.Fatalf("accepted model does not save: %v", err)
		}
		c, err := LoadBoosterJSON(saved)
		if err != nil {
			t.Fatalf("saved model does not load: %v", err)
		}
		defer c.Close()
		again, err := c.SaveJSON()
		if err != nil || !bytes.Equal(saved, again) {
			t.Fatalf("save → load → save changed the bytes (err %v)", err)
		}
		nf, err := b.NumFeatures()
		if err != nil || nf < 1 || nf > 6 {
			return
		}
		m, err := NewDMatrix(X[:50*nf], 50, nf)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		b.Predict(m, PredictOptions{})
	})
}
